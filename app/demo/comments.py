"""What the demo's respondents write: comments composed from what their complaint was about (the
category's own words), what went wrong or right, and how people end a message, in Turkish,
English, Dutch and Estonian; Turkish ones now and then typed as on a phone (no Turkish letters,
lower case, doubled marks), so that search by word forms and the explorer have real work.

Composed rather than listed: each category has its topics, each reason its sentences, and the
pieces combine into hundreds of distinct comments per language, each of which reads as a person
wrote it about that complaint.
"""

from __future__ import annotations

import random

#: What a comment about each category is about, by language.
TOPICS: dict[str, dict[str, tuple[str, ...]]] = {
    "tr": {
        "yol-kaldirim": ("Yoldaki çukur", "Kaldırım taşları", "Yarım kalan asfalt",
                         "Sokağımızdaki bozuk yol"),
        "sokak-aydinlatma": ("Sokak lambası", "Parkın aydınlatması", "Caddedeki lambalar"),
        "su-ariza": ("Su kesintisi", "Patlayan su borusu", "Düşük su basıncı"),
        "kanalizasyon": ("Taşan kanalizasyon", "Tıkalı yağmur suyu ızgarası",
                         "Lağım kokusu"),
        "su-faturasi": ("Su faturam", "Sayaç okuması", "Fazla gelen fatura"),
        "cop-toplama": ("Çöpler", "Çöp konteyneri", "Kırık konteyner", "Çöp kamyonu"),
        "sokak-temizligi": ("Sokak temizliği", "Pazar yeri sonrası temizlik",
                            "Süpürülmeyen sokak"),
        "park-bakimi": ("Parktaki oyuncaklar", "Çimler", "Sulama sistemi", "Parktaki banklar"),
        "agac-budama": ("Ağaç budama", "Camıma dayanan dallar", "Devrilecek ağaç"),
        "gurultu": ("Gece gelen müzik sesi", "Sabah erkenden başlayan inşaat gürültüsü",
                    "Gürültü"),
        "isgal": ("Kaldırım işgali", "Kaldırımdaki masalar", "Seyyar satıcılar"),
        "kacak-yapi": ("Komşu binadaki kaçak kat", "Bahçedeki kaçak yapı"),
        "ruhsat": ("Ruhsat başvurum", "İskân belgesi", "Eksik evrak"),
        "toplu-tasima": ("Otobüs saatleri", "Durakta durmayan şoför", "Kalabalık otobüs"),
        "trafik-isaret": ("Bozuk trafik lambası", "Duraktaki oturak", "Trafik levhası"),
        "sosyal-yardim-basvuru": ("Yardım başvurum", "Gıda kartı", "Sosyal yardım"),
        "etkinlik": ("İptal edilen konser", "Kurs kaydı", "Etkinlik"),
        "cagri-merkezi-erisim": ("Alo 153 hattı", "Çağrı merkezi", "Telefondaki bekleme"),
        "yanlis-bilgi": ("Verilen bilgi", "Yönlendirme", "Bilgilendirme"),
        "personel-tutumu": ("Görevlinin tavrı", "Personelin ilgisi", "Memurun davranışı"),
    },
    "en": {
        "yol-kaldirim": ("The pothole", "The broken pavement"),
        "sokak-aydinlatma": ("The street light", "The lights in the park"),
        "su-ariza": ("The water cut", "The burst pipe"),
        "kanalizasyon": ("The overflowing sewer", "The blocked drain"),
        "su-faturasi": ("My water bill", "The meter reading"),
        "cop-toplama": ("The rubbish", "The bins", "The broken container"),
        "sokak-temizligi": ("Street cleaning", "The dirty street"),
        "park-bakimi": ("The playground", "The grass in the park"),
        "agac-budama": ("The tree pruning", "The branches at my window"),
        "gurultu": ("The noise at night", "The construction noise"),
        "isgal": ("The tables on the pavement", "The street vendors"),
        "kacak-yapi": ("The illegal building next door",),
        "ruhsat": ("My permit application", "The occupancy certificate"),
        "toplu-tasima": ("The bus timetable", "The bus that did not stop"),
        "trafik-isaret": ("The traffic light", "The bus stop bench"),
        "sosyal-yardim-basvuru": ("My benefit application", "The food card"),
        "etkinlik": ("The cancelled concert", "The course registration"),
        "cagri-merkezi-erisim": ("The 153 line", "The call centre"),
        "yanlis-bilgi": ("The information I was given", "Being sent to another office"),
        "personel-tutumu": ("The staff member's attitude", "The way I was treated"),
    },
    "nl": {
        "yol-kaldirim": ("Het gat in de weg", "De kapotte stoep"),
        "sokak-aydinlatma": ("De straatlantaarn", "De verlichting in het park"),
        "su-ariza": ("De wateronderbreking", "De gesprongen leiding"),
        "kanalizasyon": ("Het riool", "De verstopte afvoer"),
        "su-faturasi": ("Mijn waterrekening", "De meterstand"),
        "cop-toplama": ("Het afval", "De containers", "De kapotte container"),
        "sokak-temizligi": ("De straatreiniging", "De vuile straat"),
        "park-bakimi": ("De speeltuin", "Het gras in het park"),
        "agac-budama": ("Het snoeien", "De takken voor mijn raam"),
        "gurultu": ("Het lawaai 's nachts", "Het bouwlawaai"),
        "isgal": ("De terrastafels op de stoep", "De straatverkopers"),
        "kacak-yapi": ("De illegale verbouwing",),
        "ruhsat": ("Mijn vergunningsaanvraag",),
        "toplu-tasima": ("De busdienstregeling", "De bus die niet stopte"),
        "trafik-isaret": ("Het verkeerslicht", "De bank bij de bushalte"),
        "sosyal-yardim-basvuru": ("Mijn aanvraag voor bijstand",),
        "etkinlik": ("Het afgelaste concert", "De inschrijving voor de cursus"),
        "cagri-merkezi-erisim": ("Het callcenter", "De telefoonlijn"),
        "yanlis-bilgi": ("De informatie die ik kreeg", "De doorverwijzing"),
        "personel-tutumu": ("De houding van de medewerker",),
    },
    "et": {
        "yol-kaldirim": ("Auk teel", "Katkine kõnnitee"),
        "sokak-aydinlatma": ("Tänavavalgusti", "Pargi valgustus"),
        "su-ariza": ("Veekatkestus", "Lõhkenud toru"),
        "kanalizasyon": ("Kanalisatsioon", "Ummistunud äravool"),
        "su-faturasi": ("Minu veearve", "Arvesti näit"),
        "cop-toplama": ("Prügi", "Prügikonteinerid", "Katkine konteiner"),
        "sokak-temizligi": ("Tänavakoristus", "Räpane tänav"),
        "park-bakimi": ("Mänguväljak", "Muru pargis"),
        "agac-budama": ("Puude lõikamine", "Oksad minu akna ees"),
        "gurultu": ("Öine müra", "Ehitusmüra"),
        "isgal": ("Lauad kõnniteel", "Tänavamüüjad"),
        "kacak-yapi": ("Ebaseaduslik ehitis",),
        "ruhsat": ("Minu loa taotlus",),
        "toplu-tasima": ("Bussigraafik", "Buss, mis ei peatunud"),
        "trafik-isaret": ("Foor", "Bussipeatuse pink"),
        "sosyal-yardim-basvuru": ("Minu toetuse taotlus",),
        "etkinlik": ("Ärajäänud kontsert", "Kursusele registreerimine"),
        "cagri-merkezi-erisim": ("Kõnekeskus", "Telefoniliin"),
        "yanlis-bilgi": ("Saadud info", "Ümbersuunamine"),
        "personel-tutumu": ("Töötaja suhtumine",),
    },
}

#: What went wrong (or right), by language: each follows a topic ("{topic} ...").
REASONS: dict[str, dict[str, tuple[str, ...]]] = {
    "tr": {
        "unresolved": ("konusunda şikâyetim kapatıldı ama sorun hâlâ devam ediyor.",
                       "için çözüldü denildi ama kimse gelip bakmadı.",
                       "sorunu bir hafta sonra yine başladı.",
                       "hala aynı durumda, hiçbir şey değişmedi.",
                       "için ekip geldi, baktı, gitti; sorun yerinde duruyor."),
        "late": ("için çok geç dönüş yapıldı, haftalarca bekledim.",
                 "konusunda söz verilen sürede hiçbir şey yapılmadı.",
                 "için defalarca aramam gerekti, ancak o zaman ilgilenildi.",
                 "sorunu ancak üç hafta sonra çözüldü."),
        "courtesy": ("için aradığımda görevli çok kaba ve ilgisizdi.",
                     "yüzünden telefonda azarlandım, hiç hoş değildi.",
                     "için gittiğimde kimse yüzüme bakmadı."),
        "clarity": ("hakkında verilen yanıt anlaşılır değildi, ne yapmam gerektiğini bilmiyorum.",
                    "için yönetmelik maddeleri sıralanmış ama sorum cevaplanmamış.",
                    "konusunda bana kimse net bir bilgi vermedi."),
        "other": ("konusunda belediyeden daha fazla özen beklerdim.",
                  "için vatandaşı dinlemiyorsunuz.",
                  "sorunu mahallede herkesin sorunu, lütfen kalıcı çözüm bulun."),
        "praise": ("sorunu hızlıca çözüldü, teşekkür ederim.",
                   "için gelen ekip çok ilgiliydi, eline sağlık.",
                   "konusunda beni arayıp bilgi verdiler, çok memnun kaldım.",
                   "aynı gün düzeltildi, bravo.",
                   "için gösterilen ilgiye teşekkürler."),
    },
    "en": {
        "unresolved": ("was marked as fixed, but the problem is still there.",
                       "- I was told it was sorted, but nobody came to look.",
                       "is just as bad a week later."),
        "late": ("took weeks to get an answer.", "- nothing happened within the promised time.",
                 "was only dealt with after I called several times."),
        "courtesy": ("- the person on the phone was rude.", "- nobody was willing to help."),
        "clarity": ("- the answer was hard to understand, and only in Turkish.",
                    "- I still do not know what I am supposed to do."),
        "other": ("- I expected more care from the municipality.",),
        "praise": ("was fixed quickly, thank you.", "- the team was friendly and helpful.",
                   "was sorted the same day, great service."),
    },
    "nl": {
        "unresolved": ("is als opgelost gemeld, maar het probleem is er nog steeds.",
                       "- er is niemand komen kijken.", "is een week later weer hetzelfde."),
        "late": ("- het duurde weken voordat ik antwoord kreeg.",
                 "- binnen de beloofde tijd gebeurde er niets."),
        "courtesy": ("- de medewerker aan de telefoon was onbeleefd.",),
        "clarity": ("- het antwoord was onduidelijk en alleen in het Turks.",),
        "other": ("- ik had meer zorg van de gemeente verwacht.",),
        "praise": ("is snel opgelost, dank u wel.", "- de ploeg was vriendelijk en behulpzaam."),
    },
    "et": {
        "unresolved": ("märgiti lahendatuks, aga probleem on endiselt alles.",
                       "- keegi ei tulnud vaatama.", "on nädal hiljem sama halb."),
        "late": ("- vastust tuli oodata nädalaid.", "- lubatud aja jooksul ei juhtunud midagi."),
        "courtesy": ("- telefonil olnud töötaja oli ebaviisakas.",),
        "clarity": ("- vastus oli arusaamatu ja ainult türgi keeles.",),
        "other": ("- ootasin vallalt rohkem hoolt.",),
        "praise": ("lahendati kiiresti, aitäh.", "- meeskond oli sõbralik ja abivalmis."),
    },
}

#: How people end a comment, by language and whether they are pleased ("" is no ending).
ENDINGS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "tr": (("", "", "Lütfen ilgilenin.", "Artık bıktım!", "Yazık.", "Bir daha şikâyet etmem."),
           ("", "", "Teşekkürler.", "Emeği geçenlere teşekkürler.")),
    "en": (("", "", "Please do something.", "Very disappointing."), ("", "", "Thanks!")),
    "nl": (("", "", "Doe er iets aan.", "Erg teleurstellend."), ("", "", "Bedankt!")),
    "et": (("", "", "Palun tehke midagi.", "Väga pettumust valmistav."), ("", "", "Aitäh!")),
}

_TYPED_ON_A_PHONE = str.maketrans("çğıöşüâÇĞİÖŞÜÂ", "cgiosuaCGIOSUA")


def as_on_a_phone(rng: random.Random, text: str) -> str:
    """``text`` as many people type Turkish on a phone: without Turkish letters, often lower
    case, a doubled mark or a dropped final stop."""
    text = text.translate(_TYPED_ON_A_PHONE)
    if rng.random() < 0.6:
        text = text.lower()
    if text.endswith(".") and rng.random() < 0.5:
        text = text[:-1] + rng.choice(["", "!!", "..."])
    return text


def compose(rng: random.Random, language: str, category: str, reason: str,
            fallback_topic: str) -> str:
    """A comment about ``category`` (its code) for ``reason`` (unresolved, late, courtesy,
    clarity, other, praise) in ``language`` (Turkish when the language has no words)."""
    if language not in TOPICS:
        language = "tr"
    topics = TOPICS[language].get(category) or (fallback_topic,)
    reasons = REASONS[language]
    sentence = f"{rng.choice(topics)} {rng.choice(reasons.get(reason) or reasons['other'])}"
    sentence = sentence.replace(" - ", ": ", 1) if " - " in sentence else sentence
    ending = rng.choice(ENDINGS[language][reason == "praise"])
    text = f"{sentence} {ending}".strip()
    if language == "tr" and rng.random() < 0.3:
        text = as_on_a_phone(rng, text)
    return text

