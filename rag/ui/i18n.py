"""Gradio's own words in French, whatever the language of the user's browser.

Gradio translates its built-in strings (the upload area's « Drop File Here - or -
Click to Upload », the copy buttons, the queue…) in the browser, into the browser's
language, falling back on English for a language or a key it lacks. This app is
French only: ``french_i18n()`` gives a ``gr.I18n`` that registers our French words
for every language Gradio ships, as flat keys ("upload_text.drop_file"), which
Gradio's look-up prefers to its own nested dictionaries. Pass it to
``Blocks.launch(i18n=...)``.

What it leaves out: strings Gradio writes without its translation system (none
are visible in this app's layout; the browser tests check the visible text).
"""

from __future__ import annotations

from typing import Any

# Gradio's translation keys that this app's components can show, in French.
GRADIO_FR: dict[str, str] = {
    "upload_text.drop_file": "Déposez vos fichiers ici",
    "upload_text.click_to_upload": "cliquez pour les choisir",
    "upload_text.drop_gallery": "Déposez vos fichiers ici",
    "upload_text.paste_clipboard": "Coller depuis le presse-papiers",
    "file.uploading": "Envoi en cours…",
    "common.or": "ou",
    "common.clear": "Effacer",
    "common.download": "Télécharger",
    "common.download_all": "Tout télécharger",
    "common.edit": "Modifier",
    "common.empty": "Vide",
    "common.error": "Erreur",
    "common.loading": "Chargement",
    "common.remove": "Retirer",
    "common.settings": "Paramètres",
    "common.share": "Partager",
    "common.submit": "Envoyer",
    "common.undo": "Annuler",
    "common.progress": "Progression",
    "common.complete": "Terminé",  # read out when an event ends (Gradio lacks this key)
    "common.language": "Langue",
    "common.display_theme": "Thème d'affichage",
    "common.built_with": "réalisé avec",
    "common.built_with_gradio": "Réalisé avec Gradio",
    "common.hosted_on": "Hébergé sur",
    "common.no_devices": "Aucun périphérique trouvé",
    "chatbot.copy_message": "Copier le message",
    "chatbot.copied_message": "Message copié",
    "chatbot.clear": "Effacer",
    "chatbot.edit": "Modifier",
    "chatbot.retry": "Réessayer",
    "chatbot.undo": "Annuler",
    "chatbot.submit": "Envoyer",
    "chatbot.cancel": "Annuler",
    "chatbot.like": "Utile",
    "chatbot.dislike": "Pas utile",
    "chatbot.complete": "Terminé",
    "chat_interface.chatbot": "Discussion",
    "chat_interface.conversation": "Conversation",
    "dropdown.dropdown": "Liste déroulante",
    "status.queue_position": "En attente : {position} sur {size}",
    "blocks.waiting_for_inputs": "Envoi des fichiers en cours : réessayez dans un instant.",
    "blocks.lost_connection": "Connexion perdue en quittant la page. Reconnexion…",
    "blocks.connection_can_break": ("Sur mobile, la connexion peut être coupée si cet onglet passe "
                                    "en arrière-plan ou si l'appareil se met en veille."),
    "blocks.long_requests_queue": "De nombreuses demandes sont en attente.",
}

# The languages Gradio's front end ships (gradio/templates/frontend: lang/*.json); the
# browser's language is matched against these, English is the fallback.
GRADIO_LOCALES = (
    "ar", "ca", "ckb", "de", "en", "es", "et", "eu", "fa", "fi", "fr", "he", "hi", "id", "ja",
    "ko", "lt", "nb", "nl", "pl", "pt-BR", "pt", "ro", "ru", "sv", "ta", "th", "tr", "uk", "ur",
    "uz", "zh-CN", "zh-TW",
)


def french_i18n() -> Any:
    """A ``gr.I18n`` that shows ``GRADIO_FR`` in every language Gradio knows."""
    import gradio as gr

    return gr.I18n(**{locale: dict(GRADIO_FR) for locale in GRADIO_LOCALES})


__all__ = ["GRADIO_FR", "GRADIO_LOCALES", "french_i18n"]
