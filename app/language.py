"""Is a message written in a language other than English?

Every model here reads English only: the embedding model, the triage heads and the
guidance itself. A message in Polish saying "he has a knife and is kicking the door in"
("On ma nóż i kopie w drzwi") used to get "The guidance we have does not answer this
question" and no 999 notice. Triage cannot read it, so it cannot say there is no
danger: such a message gets the emergency notice and a plain "Signpost can only read
English" (app/pipeline.py, TriageStage).

Three checks, all offline:
- script: most of the message's letters are not Latin (Urdu, Arabic, Punjabi, Bengali,
  Chinese, Russian, ...);
- py3langid (langid.py's model, bundled in the package, BSD) for Latin-script languages
  (Polish, Romanian, Portuguese, Lithuanian, Somali, Welsh, ...): a message of at least
  MIN_WORDS words whose probability of being English (or Nigerian Pidgin) is under
  MAX_ENGLISH, or whose likeliest other language is MIN_ODDS times as likely as English
  (session 15: short messages);
- grammar words of Hindi/Urdu, Punjabi and Bengali typed in Latin letters, which langid
  does not know (session 16: ROMANISED).

Measured (tests/app/test_language.py): of 76 real messages in 31 other languages
(tests/fixtures/language), all are recognised (the most English-looking at 0.0001
probability of English); of 58 real English ones chosen to look foreign (Pidgin, patois, Scots, Singlish,
Hinglish, text-speak, three-word lines), and the repo's 3,800 English texts, none is, the
least sure at 0.015 ("Die Helen Die", a quoted threat). A first version that trusted
langid's top language at 0.7 called five of the Pidgin and patois lines foreign, and missed
a Bosnian one (split between Croatian, Bosnian and Serbian). Romanised Urdu or Hindi
("mera ex mujhe follow karta hai") was mostly not caught; since session 16 a list of
grammar words catches most of it (ROMANISED below; README, Known gaps).

Short messages (session 15). On 3 to 6 words cut from those real messages, the
probability of English alone recognised 84% (255 of 303); a short plea like "Il va me
tuer" or "Pomocy, on mnie zabije" was read as English and got no notice. The odds rule
recognises 93% (282), and flags none of 19,682 sentences and openings of 3 to 12
words cut from the English texts (of 4,935 more from triage round 10, collected later,
it flags one: "Tsk, tsk, tsk...", an interjection). MIN_ODDS (50) lies above every English text we hold
(the highest, "Die Hleen Die", a quoted threat, is at 30) and every piece of one but a
Taglish clause at 48 ("For me ok lang naman."). On the
second batch's pieces, which were printed beside the first's when choosing (so not
blind): 86% to 95%.
"""

from __future__ import annotations

import re
import threading
import unicodedata

# English, and Nigerian Pidgin: an English-based creole that langid tells apart, but that
# the models here read much of (and Jamaican patois is often taken for it).
ENGLISH = frozenset({"en", "pcm"})
MAX_ENGLISH = 0.002  # under this probability of English, the message is another language
# ... and so is one whose likeliest other language is MIN_ODDS times as likely as English.
# On a short message langid is unsure of everything: "Il va me tuer" (French, "he is going
# to kill me") is 0.006 English but 86 times likelier French. No English text we hold
# comes above 31 ("Die Hleen Die", a quoted threat).
MIN_ODDS = 50
MIN_WORDS = 3
# Shorter than that, langid cannot tell, but a plea is a plea: "help" in the Latin-script
# languages most spoken in England and Wales after English (2021 census: Polish, Romanian,
# Portuguese, Spanish, Italian, Lithuanian, French, German, Turkish; and Welsh, whose
# "help" is English's). A message that is only one of these gets the emergency notice.
# Other scripts need no list: a message mostly in another script is caught at any length.
PLEAS = {
    "pomocy": "pl", "ratunku": "pl", "pomóżcie": "pl", "pomóż mi": "pl",
    "ajutor": "ro", "ajutați-mă": "ro", "ajutati-ma": "ro", "ajută-mă": "ro",
    "socorro": "pt", "ajuda": "pt", "ajudem-me": "pt", "ajuda-me": "pt",
    "ayuda": "es", "ayúdame": "es", "ayudame": "es", "auxilio": "es",
    "aiuto": "it", "aiutatemi": "it", "aiutami": "it",
    "padėkite": "lt", "gelbėkite": "lt", "padekite": "lt",
    "au secours": "fr", "à l'aide": "fr", "aidez-moi": "fr", "aide-moi": "fr",
    "hilfe": "de",
    "imdat": "tr", "yardım edin": "tr", "yardim edin": "tr",
    "bachao": "hi-Latn", "bachaao": "hi-Latn", "mujhe bachao": "hi-Latn", "bachao mujhe": "hi-Latn", "madad karo": "hi-Latn",
}
# Hindi/Urdu, Punjabi and Bengali typed in Latin letters ("mera ex mujhe follow karta
# hai"): langid has no such language and reads them as English, or as anything. These
# are their commonest grammar words (verbs "to be", "do", "go", pronouns, postpositions,
# negation, question words) with the usual Urdu spellings beside the Hindi ones, chosen
# to be no English word: "main", "the", "to", "ho", "ko", "se", "na", "par" and the
# words Hinglish English borrows ("yaar", "bhai", "beta", "ji", "accha") are left out.
# A message of MIN_WORDS words or more that langid would leave to English is romanised
# South Asian text when at least ROMANISED_MIN_HITS of its words, and ROMANISED_MIN_SHARE
# of them, are these (session 16; measured in tests/fixtures/language/README.md).
_ROMANISED_WORDS = {
    "hi-Latn": """
        hai hain hoon hun nahi nahin nhi mujhe mujhse mujhko mujhy mujhay mera meri mere mery meray tera teri tere tery
        teray tujhe tujhse tumhe tumko tumhara tumhari tumhare tumhary tumne aap aapko aapka aapki aapke apna apni apne
        apny apnay hamara hamari hamare humary hamaara humein hamein humne kya kyu kyun kyon kaise kaisa kaisi kaun kahan
        kab kitna kitni karta karti karte karna karni karne karo karoon karun karega karegi karenge krna krta krte krti
        kro kiya kiye kia raha rahi rahe rahaa rha rhi rhe tha thi thay hua hui hue gaya gayi gaye gai diya diye dunga
        dungi doonga hoga hogi hota hoti hote hy aur bhi bhe bahut bohot bohat bahot bht bhot ghar woh wohi yeh kuch
        kuchh koi kisi abhi sabko maar maarta maarti jaan bachao madad darr darta darti lagta lagti chahiye chahte
        chahta chahti sakta sakti sakte mein unhone usne usko uska uski uske usse iska iski isse unka unki unko unhe
        inko inhe maine jise jisne jinhe yahan wahan wahi yahi aaj raat baat bola boli bolta bolti kehta kehti suna
        suni suno agar lekin magar sirf bilkul zyada jyada theek thik matlab kyunki kyuki phir toh saath sath liye
        wajah pehle pehlay hamesha kabhi waqt shaadi shadi biwi sasural behen behan ammi abbu jaldi galat samajh samjho
        samjha sochta socha dekho dekha dekhta chalo jao aaya aayi aana jana jaana jaye jayega jaoun milta mila mili
        milne roz logon ladka ladki aadmi aurat thana pareshan pareshaan dhamki dhamkiyan khatra pitai rehta rehti
        rahta rahti kay aik jaty jati
    """,
    "pa-Latn": "tenu mainu mennu tuhanu ohna kithe hega haiga tusi sadda saddi tuhada tuhadi kiven kidda vich naal karda kardi hoya janda jandi ethe othe",
    "bn-Latn": "tumi amake tomake tomar korbo korchi korte achi hobe keno kemon bhalo valo theke jonno ekta kintu shob onek khub bujhte parchi parbo jabo jacche",
}
ROMANISED = {word: code for code, words in _ROMANISED_WORDS.items() for word in words.split()}
ROMANISED_MIN_HITS = 2
ROMANISED_MIN_SHARE = 0.2
_PLEA_TRIM = re.compile(r"^[\W_]+|[\W_]+$")
MAX_CHARS = 2000  # enough to tell the language; bounds the cost of a long message
_WORD = re.compile(r"[^\W\d_]{2,}")


class LanguageCheck:
    """Tells a message in another language from English. The langid model (about 0.5 s
    to load) is loaded on first use, once, whichever thread asks first."""

    def __init__(self):
        self._lock = threading.Lock()
        self._identifier = None

    def _langid(self):
        with self._lock:
            if self._identifier is None:
                # Imported here: the model is only needed once a message is long enough to judge.
                from py3langid.langid import MODEL_FILE, LanguageIdentifier

                self._identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        return self._identifier

    def other_language(self, text: str) -> str:
        """The language code (ISO 639) when `text` is clearly not English, else ""."""
        sample = text[:MAX_CHARS]
        letters = [c for c in sample if c.isalpha()]
        if not letters:
            return ""
        latin = sum("LATIN" in unicodedata.name(c, "") for c in letters)
        if latin * 2 <= len(letters):  # mostly another script: not English, whatever langid says
            code, _ = self._langid().classify(sample)
            return code if code not in ENGLISH else "und"
        words = _WORD.findall(sample)
        if len(words) < MIN_WORDS:
            plea = " ".join(_PLEA_TRIM.sub("", sample.lower().replace("\u2019", "'")).split())
            return PLEAS.get(plea, "")
        ranked = self._langid().rank(sample)
        english = sum(p for code, p in ranked if code in ENGLISH)
        code, likeliest = next((code, p) for code, p in ranked if code not in ENGLISH)
        if english >= MAX_ENGLISH and likeliest < MIN_ODDS * english:
            return _romanised(words)
        return code


def _romanised(words: list[str]) -> str:
    """The code of the South Asian language typed in Latin letters that most of these
    words (a message's, as _WORD finds them) belong to, when enough of them are listed
    (ROMANISED), else ""."""
    hits = [ROMANISED[w.lower()] for w in words if w.lower() in ROMANISED]
    if len(hits) < ROMANISED_MIN_HITS or len(hits) < ROMANISED_MIN_SHARE * len(words):
        return ""
    return max(dict.fromkeys(hits), key=hits.count)
