"""Every fixed message people can see, in one place."""

DISCLAIMER = (
    "This is general information from guidance about the law in England and Wales, "
    "not legal advice. For advice on your own situation, speak to a solicitor."
)

INVALID = {
    "empty": "Please type a question, for example: \"Can I get a restraining order?\"",
    "too_long": "That question is too long. Please keep it under {limit} characters: the part that says what you want to know is enough.",
}

NOT_COVERED = {
    "no_support": "The guidance we have does not answer this question.",
    "off_topic": "The guidance we have does not seem to cover this question.",
    "no_figure": "The guidance we have does not say {topic}.",
    "out_of_area": "This looks like a question about {topic}. The guidance here only covers stalking and harassment, so it cannot answer it.",
    "jurisdiction": "The guidance here covers the law in England and Wales. Scotland and Northern Ireland (and other countries) have different law, so it cannot answer this.",
    "language": "Signpost can only read questions written in English, so it cannot answer this one.",
}

SIGNPOST_INTRO = "You can talk to someone about your situation:"
SIGNPOST_INTRO_AFTER_SOLICITOR = "You can also talk to someone about your situation:"
RELATED_INTRO = "These passages may be related:"
PARTIAL = "The guidance does not cover {topic}; the answer below covers the rest of your question."

EMERGENCY_INTRO = "If you are in immediate danger, call 999 now."
CHILD_INTRO = "If a child is in immediate danger, call 999. If a child is at risk, you can get help now:"
CRISIS_INTRO = (
    "If you have taken an overdose or hurt yourself badly, or cannot keep yourself safe, call 999 or go to A&E now. "
    "If you are thinking about ending your life or harming yourself, you can talk to someone now, any time:"
)

ERROR = "Sorry, something went wrong on our side. Please try again in a moment."
BUSY = "Signpost is busy right now. Please try again in a minute."
UNAVAILABLE = "The guidance search is not available right now. Please try again later."

# Web API refusals (never quoting the request).
SCHEMA_ERROR = 'The request was not valid. Send JSON like {"question": "Can I get a restraining order?"}.'
TOO_LARGE = "That request is too large. Please keep the question under {limit} characters."
NOT_FOUND = "Not found"
BAD_EVENT = "That request was not valid. Please reload the page and try again."

DANGER_LINE = "In danger now? Call 999. If you cannot speak, call 999 from a mobile, then press 55."
