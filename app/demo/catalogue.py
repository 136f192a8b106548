"""The fixed parts of the demo municipality: its units, complaint categories, names and texts.

Every name, address and e-mail here is made up. E-mail domains are reserved for examples
(RFC 2606: ``example.*`` and ``.test``), so a demo survey can never reach a real person.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ORGANISATION = "Örnek Belediyesi"
EMAIL_DOMAINS = ("example.com", "example.org", "example.net", "posta.test", "eposta.test")


@dataclass(frozen=True)
class UnitProfile:
    """How a unit behaves in the simulation; only ``code``, ``name`` and ``parent`` are stored.

    ``weight`` is its share of complaints, ``peak_month``/``season`` shape their seasonality,
    ``speed`` is the usual time to resolve as a fraction of the committed time (above about 0.6
    many complaints end late), ``satisfaction`` shifts how complainants rate the unit,
    ``trend`` moves that per month (a unit that is improving), ``courtesy``/``clarity`` shift
    those items, ``resolved_share`` is how often the complainant agrees the problem was fixed,
    and ``transactions`` is the unit's monthly service volume.
    """

    code: str
    name: str
    parent: str | None
    weight: float = 0.0
    peak_month: int = 1
    season: float = 0.0
    speed: float = 0.5
    satisfaction: float = 0.0
    trend: float = 0.0
    courtesy: float = 0.0
    clarity: float = 0.0
    resolved_share: float = 0.85
    transactions: int = 0
    categories: dict[str, float] = field(default_factory=dict)

    @property
    def handles_complaints(self) -> bool:
        return self.weight > 0


ROOT = "ornek-belediyesi"

#: The organisation settings page of the demo (``app.organisation.settings``). Addresses use the
#: reserved .example domain, so nothing can reach a real mailbox.
ORGANISATION_SETTINGS = {
    "name": ORGANISATION,
    "short_name": "Örnek Bld.",
    "sender_name": "Örnek Belediyesi Çözüm Merkezi",
    "sender_address": "cozum-merkezi@ornekbelediyesi.example",
    "default_language": "tr",
    "timezone": "Europe/Istanbul",
    "controller_name": "Örnek Belediyesi Başkanlığı",
    "controller_contact": "KVKK Birimi, Cumhuriyet Meydanı No: 1, Örnek; "
                          "kvkk@ornekbelediyesi.example",
}

UNITS: tuple[UnitProfile, ...] = (
    UnitProfile(ROOT, ORGANISATION, None),
    UnitProfile("altyapi-hizmetleri", "Altyapı Hizmetleri", ROOT),
    UnitProfile("cevre-hizmetleri", "Çevre ve Kent Düzeni Hizmetleri", ROOT),
    UnitProfile("sosyal-hizmetler", "Sosyal Hizmetler", ROOT),
    UnitProfile(
        "fen-isleri", "Fen İşleri Müdürlüğü", "altyapi-hizmetleri",
        weight=16, peak_month=2, season=0.35, speed=0.6, satisfaction=-0.1,
        resolved_share=0.74, transactions=9_000,
        categories={"yol-kaldirim": 0.65, "sokak-aydinlatma": 0.35},
    ),
    UnitProfile(
        "su-kanalizasyon", "Su ve Kanalizasyon Müdürlüğü", "altyapi-hizmetleri",
        weight=14, peak_month=1, season=0.3, speed=0.5, satisfaction=-0.35, trend=0.1,
        transactions=42_000,
        categories={"su-ariza": 0.5, "kanalizasyon": 0.3, "su-faturasi": 0.2},
    ),
    UnitProfile(
        "ulasim", "Ulaşım Hizmetleri Müdürlüğü", "altyapi-hizmetleri",
        weight=9, peak_month=10, season=0.25, speed=0.62, satisfaction=-0.3,
        transactions=120_000,
        categories={"toplu-tasima": 0.7, "trafik-isaret": 0.3},
    ),
    UnitProfile(
        "imar", "İmar ve Şehircilik Müdürlüğü", "altyapi-hizmetleri",
        weight=5, peak_month=4, season=0.1, speed=0.75, satisfaction=-0.45, clarity=-0.7,
        resolved_share=0.7, transactions=2_500,
        categories={"kacak-yapi": 0.45, "ruhsat": 0.55},
    ),
    UnitProfile(
        "temizlik", "Temizlik İşleri Müdürlüğü", "cevre-hizmetleri",
        weight=20, peak_month=7, season=0.45, speed=0.45, satisfaction=0.2, courtesy=0.2,
        transactions=60_000,
        categories={"cop-toplama": 0.65, "sokak-temizligi": 0.35},
    ),
    UnitProfile(
        "park-bahceler", "Park ve Bahçeler Müdürlüğü", "cevre-hizmetleri",
        weight=8, peak_month=5, season=0.4, speed=0.55, satisfaction=0.3,
        transactions=7_000,
        categories={"park-bakimi": 0.6, "agac-budama": 0.4},
    ),
    UnitProfile(
        "zabita", "Zabıta Müdürlüğü", "cevre-hizmetleri",
        weight=12, peak_month=7, season=0.35, speed=0.55, satisfaction=-0.35, courtesy=-0.8,
        resolved_share=0.78, transactions=15_000,
        categories={"gurultu": 0.55, "isgal": 0.45},
    ),
    UnitProfile(
        "sosyal-yardim", "Sosyal Yardım İşleri Müdürlüğü", "sosyal-hizmetler",
        weight=5, peak_month=12, season=0.3, speed=0.55, satisfaction=0.35,
        transactions=4_000,
        categories={"sosyal-yardim-basvuru": 1.0},
    ),
    UnitProfile(
        "kultur", "Kültür ve Sosyal İşler Müdürlüğü", "sosyal-hizmetler",
        weight=3, peak_month=6, season=0.3, speed=0.45, satisfaction=0.6,
        transactions=11_000,
        categories={"etkinlik": 1.0},
    ),
    UnitProfile(
        "cagri-merkezi", "Çağrı Merkezi (Alo 153)", ROOT,
        weight=8, peak_month=1, season=0.1, speed=0.35, satisfaction=0.05, courtesy=0.4,
        resolved_share=0.9, transactions=25_000,
        categories={"cagri-merkezi-erisim": 0.55, "yanlis-bilgi": 0.45},
    ),
)

# Complaints about staff behaviour reach every unit; this share of a unit's complaints is that.
STAFF_CATEGORY = "personel-tutumu"
STAFF_SHARE = 0.05


@dataclass(frozen=True)
class CategoryProfile:
    """A complaint category. ``effect`` shifts satisfaction for complaints of this kind."""

    code: str
    name: str
    parent: str | None
    days: int
    effect: float = 0.0
    subjects: tuple[str, ...] = ()


CATEGORIES: tuple[CategoryProfile, ...] = (
    CategoryProfile("altyapi", "Altyapı", None, 15),
    CategoryProfile("cevre", "Çevre ve temizlik", None, 7),
    CategoryProfile("kent-duzeni", "Kent düzeni", None, 10),
    CategoryProfile("ulasim-trafik", "Ulaşım ve trafik", None, 10),
    CategoryProfile("hizmet-iletisim", "Hizmet ve iletişim", None, 10),
    CategoryProfile("yol-kaldirim", "Yol ve kaldırım bozukluğu", "altyapi", 15, subjects=(
        "Yolda derin çukur var", "Kaldırım taşları kırık", "Asfalt çalışması yarım kaldı")),
    CategoryProfile("sokak-aydinlatma", "Sokak aydınlatması", "altyapi", 5, subjects=(
        "Sokak lambası yanmıyor", "Parkın aydınlatması arızalı")),
    CategoryProfile("su-ariza", "Su arızası ve kesintisi", "altyapi", 2, effect=-0.2, subjects=(
        "Habersiz su kesintisi", "Ana boru patladı, su akıyor", "Suyun basıncı çok düşük")),
    CategoryProfile("kanalizasyon", "Kanalizasyon ve yağmur suyu", "altyapi", 3, subjects=(
        "Kanalizasyon taştı", "Yağmur suyu ızgarası tıkalı")),
    CategoryProfile("su-faturasi", "Su faturası itirazı", "altyapi", 10, effect=-0.3, subjects=(
        "Faturam çok yüksek geldi", "Sayaç okuması hatalı")),
    CategoryProfile("cop-toplama", "Çöp toplama", "cevre", 2, subjects=(
        "Çöpler iki gündür alınmadı", "Çöp konteyneri taşıyor", "Konteyner kırık")),
    CategoryProfile("sokak-temizligi", "Sokak temizliği", "cevre", 5, subjects=(
        "Sokak süpürülmüyor", "Pazar yerinden sonra temizlik yapılmadı")),
    CategoryProfile("park-bakimi", "Park ve yeşil alan bakımı", "cevre", 10, subjects=(
        "Parktaki oyuncak kırık", "Çimler biçilmiyor", "Sulama sistemi arızalı")),
    CategoryProfile("agac-budama", "Ağaç budama ve kesimi", "cevre", 20, subjects=(
        "Ağaç dalları camıma dayanıyor", "Devrilmek üzere olan ağaç")),
    CategoryProfile("gurultu", "Gürültü", "kent-duzeni", 3, subjects=(
        "Gece geç saate kadar müzik", "İnşaat sabah erken başlıyor")),
    CategoryProfile("isgal", "Kaldırım ve yol işgali", "kent-duzeni", 5, subjects=(
        "Kaldırım masalarla kapatılmış", "Seyyar satıcılar yolu kapatıyor")),
    CategoryProfile("kacak-yapi", "Kaçak yapı", "kent-duzeni", 30, effect=-0.2, subjects=(
        "Komşu binada izinsiz kat çıkılıyor", "Bahçeye kaçak yapı yapıldı")),
    CategoryProfile("ruhsat", "Ruhsat ve iskân işlemleri", "kent-duzeni", 15, subjects=(
        "Ruhsat başvurum sonuçlanmadı", "İskân belgesi için eksik evrak bilgisi verilmedi")),
    CategoryProfile("toplu-tasima", "Toplu taşıma", "ulasim-trafik", 10, subjects=(
        "Otobüs saatlerine uyulmuyor", "Şoför durakta durmadı", "Otobüs çok kalabalık")),
    CategoryProfile("trafik-isaret", "Trafik işaretleri ve duraklar", "ulasim-trafik", 15,
                    subjects=("Durakta oturak yok", "Trafik lambası bozuk")),
    CategoryProfile("sosyal-yardim-basvuru", "Sosyal yardım başvurusu", "hizmet-iletisim", 15,
                    subjects=("Yardım başvurum cevapsız kaldı", "Gıda kartı yüklenmedi")),
    CategoryProfile("etkinlik", "Kültür etkinlikleri", "hizmet-iletisim", 10, subjects=(
        "Konser iptal edildi, bilgi verilmedi", "Kursa kayıt olamadım")),
    CategoryProfile("cagri-merkezi-erisim", "Çağrı merkezine ulaşamama", "hizmet-iletisim", 2,
                    effect=-0.3, subjects=("Alo 153 hattı sürekli meşgul",
                                           "Uzun süre beklettikten sonra hat kesildi")),
    CategoryProfile("yanlis-bilgi", "Yanlış veya eksik bilgilendirme", "hizmet-iletisim", 5,
                    subjects=("Bana yanlış bilgi verildi", "Beni başka birime yönlendirdiler")),
    CategoryProfile(STAFF_CATEGORY, "Personel tutumu", "hizmet-iletisim", 7, effect=-0.5,
                    subjects=("Görevli kaba davrandı", "Personel ilgisizdi")),
)

# Channels and their weights (a municipal solution centre: the call centre and the web form lead).
CHANNEL_WEIGHTS: dict[str, float] = {
    "phone": 31, "web": 27, "mobile_app": 13, "walk_in": 10, "email": 8, "social": 7,
    "letter": 2, "other": 2,
}
# Share of complainants who leave an e-mail address, by the channel of their first complaint.
EMAIL_SHARE: dict[str, float] = {
    "web": 0.97, "mobile_app": 0.95, "email": 1.0, "social": 0.7, "phone": 0.7,
    "walk_in": 0.6, "letter": 0.4, "other": 0.6,
}

NEIGHBOURHOODS = (
    "Atatürk", "Cumhuriyet", "Yeni", "Fatih", "Gazi", "Bahçelievler", "Esentepe", "Yıldıztepe",
    "Çamlık", "İstiklal", "Barbaros", "Mimar Sinan", "Zafer", "Karşıyaka", "Menekşe",
)

FIRST_NAMES_TR = (
    "Ayşe", "Fatma", "Emine", "Hatice", "Zeynep", "Elif", "Meryem", "Şerife", "Zehra", "Sultan",
    "Hülya", "Gül", "Esra", "Büşra", "Merve", "Özlem", "Derya", "Sevgi", "İpek", "Çiğdem",
    "Mehmet", "Mustafa", "Ahmet", "Ali", "Hüseyin", "Hasan", "İbrahim", "İsmail", "Osman",
    "Yusuf", "Murat", "Ömer", "Ramazan", "Halil", "Süleyman", "Emre", "Burak", "Kemal", "Cem",
    "Oğuz", "Barış", "Serkan", "Uğur", "Gökhan", "Tolga",
)
LAST_NAMES_TR = (
    "Yılmaz", "Kaya", "Demir", "Şahin", "Çelik", "Yıldız", "Yıldırım", "Öztürk", "Aydın",
    "Özdemir", "Arslan", "Doğan", "Kılıç", "Aslan", "Çetin", "Kara", "Koç", "Kurt", "Özkan",
    "Şimşek", "Polat", "Korkmaz", "Karaca", "Erdoğan", "Güneş", "Aksoy", "Tekin", "Uçar",
    "Ünal", "Bulut", "Keskin", "Akgül", "Sarı", "Ateş", "Türkmen", "Güler", "Bozkurt",
)
FIRST_NAMES_EN = (
    "Emma", "Olivia", "Sophie", "Hannah", "Laura", "Anna", "James", "Thomas", "Daniel",
    "Lucas", "Peter", "Mark", "David", "Julia", "Sarah",
)
LAST_NAMES_EN = (
    "Smith", "Brown", "Wilson", "Taylor", "Clarke", "Evans", "Walker", "Wright", "Hughes",
    "Green", "Baker", "Hill", "Wood", "Turner", "Parker",
)

# What respondents write: app/demo/comments.py composes it from the category's topics.

# Mean importance of each attribute, for questionnaires that ask importance (ISO 10004 pairs).
IMPORTANCE: dict[str, float] = {
    "outcome": 4.7, "resolution": 4.7, "responsiveness": 4.5, "timeliness": 4.5,
    "accessibility": 4.1, "clarity": 4.2, "courtesy": 3.9, "objectivity": 4.3,
    "confidentiality": 3.8, "information": 4.0,
}

# Organisation-wide and per-unit targets (None: the whole organisation), in the units of
# app.analytics: proportions as fractions, NPS as a fraction from -1 to 1.
TARGETS: tuple[tuple[str | None, str, float], ...] = (
    (None, "csat", 0.75),
    (None, "nps", 0.10),
    (None, "response_rate", 0.35),
    (None, "on_time_resolution", 0.85),
    (None, "resolution_confirmed", 0.80),
    ("temizlik", "csat", 0.75),
    ("zabita", "csat", 0.65),
    ("su-kanalizasyon", "csat", 0.70),
    ("imar", "on_time_resolution", 0.70),
    ("fen-isleri", "on_time_resolution", 0.80),
)

# The service catalogue: (code, name, parent code). Service events are reported for the units
# in SERVICE_EVENT_UNITS (their counted events replace the typed-in volume there), each event of
# one of the unit's services.
SERVICES: tuple[tuple[str, str, str | None], ...] = (
    ("imar-hizmetleri", "İmar hizmetleri", None),
    ("yapi-ruhsati", "Yapı ruhsatı", "imar-hizmetleri"),
    ("iskan", "Yapı kullanma izni (iskân)", "imar-hizmetleri"),
    ("imar-durumu", "İmar durumu belgesi", "imar-hizmetleri"),
    ("sosyal-hizmetler", "Sosyal hizmetler", None),
    ("sosyal-yardim-basvurusu", "Sosyal yardım başvurusu", "sosyal-hizmetler"),
    ("kultur-etkinligi", "Kültür etkinliği kaydı", "sosyal-hizmetler"),
)
SERVICE_EVENT_UNITS = {"imar": ("yapi-ruhsati", "iskan", "imar-durumu")}
# Of the records taken in, this share is not a complaint: (kind, share among those).
OTHER_KINDS_SHARE = 0.06
OTHER_KINDS = (("compliment", 0.45), ("suggestion", 0.35), ("request", 0.2))
