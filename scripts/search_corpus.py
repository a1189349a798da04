"""A generated library for the search benchmark: lessons in several languages whose words
follow a Zipf curve (a few very common words, a long tail of rare ones), grouped in packs
with subjects, grades and kinds, plus the queries a student might type.

Deterministic for a seed, so runs compare.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass

from whoosh.lang import stopwords_for_language

from hub.search.documents import LessonDoc

# Real topic words per language; the long tail is made of generated words.
TOPICS = {
    "en": (
        "water cycle evaporation rain cloud river ocean plant plants leaf root seed flower "
        "photosynthesis energy sunlight animal animals insect bird fish mammal habitat food "
        "chain fraction fractions half quarter number numbers addition subtraction multiply "
        "division equation equations triangle circle square angle measure length weight "
        "volume money time clock map country continent history village farming crops soil "
        "health hygiene handwashing disease malaria vaccine nutrition vitamin protein body "
        "heart blood bones muscles brain reading writing letter letters story poem grammar "
        "sentence verb noun adjective spelling electricity magnet force motion gravity light "
        "sound heat temperature weather climate season planet moon stars earth rock volcano "
        "running swimming game music drawing computer internet phone community family"
    ).split(),
    "fr": (
        "eau cycle évaporation pluie nuage rivière océan plante plantes feuille racine graine "
        "fleur photosynthèse énergie lumière animal animaux insecte oiseau poisson habitat "
        "nourriture chaîne fraction fractions moitié quart nombre nombres addition "
        "soustraction multiplication division équation équations triangle cercle carré angle "
        "mesure longueur poids volume argent heure carte pays continent histoire village "
        "agriculture récolte sol santé hygiène lavage maladie paludisme vaccin nutrition "
        "vitamine protéine corps cœur sang os muscles cerveau lecture écriture lettre lettres "
        "histoire poème grammaire phrase verbe nom adjectif orthographe électricité aimant "
        "force mouvement gravité son chaleur température météo climat saison planète lune "
        "étoiles terre roche volcan école élève maître famille communauté"
    ).split(),
    "es": (
        "agua ciclo evaporación lluvia nube río océano planta plantas hoja raíz semilla flor "
        "fotosíntesis energía luz animal animales insecto pájaro pez hábitat comida cadena "
        "fracción fracciones mitad cuarto número números suma resta multiplicación división "
        "ecuación ecuaciones triángulo círculo cuadrado ángulo medida longitud peso volumen "
        "dinero hora mapa país continente historia pueblo agricultura cosecha suelo salud "
        "higiene lavado enfermedad malaria vacuna nutrición vitamina proteína cuerpo corazón "
        "sangre huesos músculos cerebro lectura escritura letra letras cuento poema gramática "
        "oración verbo sustantivo adjetivo ortografía electricidad imán fuerza movimiento "
        "gravedad sonido calor temperatura clima estación planeta luna estrellas tierra roca "
        "volcán escuela alumno maestro familia comunidad"
    ).split(),
    "pt": (
        "água ciclo evaporação chuva nuvem rio oceano planta plantas folha raiz semente flor "
        "fotossíntese energia luz animal animais inseto pássaro peixe habitat comida cadeia "
        "fração frações metade quarto número números adição subtração multiplicação divisão "
        "equação equações triângulo círculo quadrado ângulo medida comprimento peso volume "
        "dinheiro hora mapa país continente história aldeia agricultura colheita solo saúde "
        "higiene lavagem doença malária vacina nutrição vitamina proteína corpo coração "
        "sangue ossos músculos cérebro leitura escrita letra letras conto poema gramática"
    ).split(),
    "sw": (
        "maji mzunguko mvua wingu mto bahari mmea mimea jani mzizi mbegu ua nishati mwanga "
        "mnyama wanyama mdudu ndege samaki chakula sehemu nusu robo namba kujumlisha "
        "kutoa kuzidisha kugawanya mlinganyo pembetatu duara mraba pembe kipimo urefu uzito "
        "pesa saa ramani nchi bara historia kijiji kilimo mazao udongo afya usafi kunawa "
        "mikono ugonjwa malaria chanjo lishe mwili moyo damu mifupa misuli ubongo kusoma "
        "kuandika barua hadithi shairi sarufi sentensi kitenzi nomino umeme sumaku nguvu "
        "mwendo sauti joto hali hewa sayari mwezi nyota dunia mwamba volkano shule mwanafunzi "
        "mwalimu familia jamii"
    ).split(),
    "ar": (
        "ماء دورة تبخر مطر سحابة نهر محيط نبات نباتات ورقة جذر بذرة زهرة طاقة ضوء حيوان "
        "حيوانات حشرة طائر سمكة غذاء كسر كسور نصف ربع عدد أعداد جمع طرح ضرب قسمة معادلة "
        "مثلث دائرة مربع زاوية قياس طول وزن حجم مال ساعة خريطة بلد قارة تاريخ قرية زراعة "
        "تربة صحة نظافة غسل مرض ملاريا لقاح تغذية جسم قلب دم عظام عضلات دماغ قراءة كتابة "
        "رسالة قصة قصيدة قواعد جملة فعل اسم كهرباء مغناطيس قوة حركة صوت حرارة طقس مناخ"
    ).split(),
}

FUNCTION_WORDS = {
    "sw": "na ya wa kwa katika ni za la cha vya kama hii huu hiyo sana pia lakini au".split(),
    "ar": "في من على إلى عن مع هذا هذه ذلك التي الذي هو هي كان أن لا ما".split(),
}

# Share of lessons per language.
LANGUAGES = (("en", 35), ("fr", 22), ("es", 18), ("sw", 12), ("pt", 8), ("ar", 5))
SUBJECTS = ("mathematics", "science", "health", "language", "history", "geography", "arts")
GRADES = tuple(str(g) for g in range(1, 13))
KINDS = (("article", 50), ("video", 20), ("exercise", 15), ("pdf", 10), ("audio", 5))

SYLLABLES = {
    "en": "ba be bi bo ca co de di fa fe go ha he ka la le li lo ma me mi mo na ne no "
    "pa pe ra re ri ro sa se si so ta te ti to va ve wa we".split(),
    "fr": "ba be bé bi bo ca ce co dé di fa fe go la le lé li lo ma me mé mi mo na ne "
    "né no pa pe pé ra re ré ri ro sa se sé si so ta te té ti to va ve vé ou ai eu".split(),
    "es": "ba be bi bo ca ce co de di fa fe go ja la le li lo ma me mi mo na ne ni no "
    "pa pe pi ra re ri ro sa se si so ta te ti to va ve ña ñe lla que".split(),
    "pt": "ba be bi bo ca ce co de di fa fe go ja la le li lo ma me mi mo na ne ni no "
    "pa pe pi ra re ri ro sa se si so ta te ti to va ve ção nha lhe".split(),
    "sw": "ba be bi bo ka ke ki ko ku la le li lo ma me mi mo mu na ne ni no nu pa pe "
    "pi ra ri sa se si ta te ti to tu wa we wi ya ye za zi ngu mba nda".split(),
    "ar": "با بي بو تا تي سا سي ما مي نا ني را ري لا لي كا كي دا دي فا في قا قي".split(),
}

TAIL_WORDS = 12_000
WORDS_PER_LESSON = 300


@dataclass(frozen=True)
class Query:
    kind: str  # single, two, phrase, fuzzy, faceted
    text: str
    language: str = ""
    subject: str = ""


class Corpus:
    def __init__(self, lessons: int, seed: int = 7) -> None:
        self.lessons = lessons
        self.random = random.Random(seed)
        self.vocab = {lang: self._vocabulary(lang) for lang, _ in LANGUAGES}
        self.docs: list[LessonDoc] = []

    def _vocabulary(self, lang: str) -> dict[str, list]:
        rng = self.random
        syllables = SYLLABLES[lang]
        tail: set[str] = set()
        while len(tail) < TAIL_WORDS:
            tail.add("".join(rng.choices(syllables, k=rng.randint(2, 4))))
        tail_list = sorted(tail)
        rng.shuffle(tail_list)
        function = FUNCTION_WORDS.get(lang) or sorted(stopwords_for_language(lang))[:80]
        return {
            "topics": TOPICS[lang],
            "tail": tail_list,
            "tail_weights": list(itertools.accumulate(1 / (r + 1) ** 1.05 for r in range(TAIL_WORDS))),
            "function": function,
        }

    def generate(self) -> list[LessonDoc]:
        rng = self.random
        languages = [lang for lang, _ in LANGUAGES]
        weights = [w for _, w in LANGUAGES]
        kinds = [k for k, _ in KINDS]
        kind_weights = [w for _, w in KINDS]
        per_pack = 100
        docs = []
        for pack_no in range((self.lessons + per_pack - 1) // per_pack):
            lang = rng.choices(languages, weights)[0]
            pack_id = f"pack-{pack_no:04d}-{lang}"
            subjects = tuple(rng.sample(SUBJECTS, rng.randint(1, 2)))
            first = rng.randint(0, 9)
            grades = GRADES[first : first + rng.randint(1, 3)]
            for n in range(min(per_pack, self.lessons - len(docs))):
                kind = rng.choices(kinds, kind_weights)[0]
                docs.append(self._lesson(pack_id, f"l{n:03d}", lang, kind, subjects, grades))
        self.docs = docs
        return docs

    def _lesson(
        self,
        pack_id: str,
        lesson_id: str,
        lang: str,
        kind: str,
        subjects: tuple[str, ...],
        grades: tuple[str, ...],
    ) -> LessonDoc:
        rng = self.random
        vocab = self.vocab[lang]
        focus = rng.sample(vocab["topics"], 6)
        title_words = rng.sample(focus, rng.randint(2, 4))
        return LessonDoc(
            pack_id=pack_id,
            lesson_id=lesson_id,
            title=" ".join(title_words).capitalize(),
            language=lang,
            kind=kind,
            keywords=tuple(rng.sample(focus, 2)),
            description=self._sentence(vocab, focus, rng.randint(12, 20)),
            text=" ".join(
                self._sentence(vocab, focus, rng.randint(8, 16))
                for _ in range(WORDS_PER_LESSON // 12)
            ),
            subjects=subjects,
            grades=grades,
            topic_path=(" ".join(focus[:2]).capitalize(),),
        )

    def _sentence(self, vocab: dict[str, list], focus: list[str], length: int) -> str:
        rng = self.random
        out = []
        for _ in range(length):
            draw = rng.random()
            if draw < 0.42:
                out.append(rng.choice(vocab["function"]))
            elif draw < 0.58:
                out.append(rng.choice(focus))
            elif draw < 0.64:
                out.append(rng.choice(vocab["topics"]))
            else:
                out.append(rng.choices(vocab["tail"], cum_weights=vocab["tail_weights"])[0])
        return " ".join(out).capitalize() + "."

    def queries(self, per_kind: int) -> list[Query]:
        rng = random.Random(11)
        out: list[Query] = []
        for _ in range(per_kind):
            doc = rng.choice(self.docs)
            words = [w for w in doc.text.lower().split() if len(w.strip(".")) > 3]
            topic = rng.choice(self.vocab[doc.language]["topics"])
            out.append(Query("single", topic))
            pair = rng.sample(words, 2) if len(words) > 1 else [topic, topic]
            out.append(Query("two", " ".join(w.strip(".") for w in pair)))
            out.append(Query("phrase", f'"{self._adjacent(rng, doc.text)}"'))
            out.append(Query("fuzzy", _typo(rng, rng.choice(self._long(doc)))))
            out.append(
                Query("faceted", topic, language=doc.language, subject=rng.choice(doc.subjects))
            )
        return out

    @staticmethod
    def _adjacent(rng: random.Random, text: str) -> str:
        tokens = [t.strip(".").lower() for t in text.split()]
        for _ in range(50):
            at = rng.randrange(len(tokens) - 1)
            if len(tokens[at]) > 3 and len(tokens[at + 1]) > 3:
                return f"{tokens[at]} {tokens[at + 1]}"
        return f"{tokens[0]} {tokens[1]}"

    def _long(self, doc: LessonDoc) -> list[str]:
        return [w for w in self.vocab[doc.language]["topics"] if len(w) >= 5] or ["water"]


def _typo(rng: random.Random, word: str) -> str:
    """One edit away, never on the first letter (students rarely get that one wrong)."""
    at = rng.randrange(1, len(word) - 1)
    edit = rng.choice(("swap", "drop", "replace"))
    if edit == "swap":
        return word[:at] + word[at + 1] + word[at] + word[at + 2 :]
    if edit == "drop":
        return word[:at] + word[at + 1 :]
    return word[:at] + rng.choice("aeiourstnl") + word[at + 1 :]
