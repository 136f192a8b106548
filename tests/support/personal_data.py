"""Generated comments with personal data planted in them, for the redaction tests.

The check digits are computed here from their definitions (the T.C. Kimlik No rule of the
population register, ISO 13616 mod-97 for IBANs), not with the library the code uses, so a test
that finds every planted item checks the library's reading as well.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

FIRST = ["Ayşe", "Mehmet", "Gülşen", "İsmail", "Çağla", "Özgür", "Şükrü", "Ümit", "Elif",
         "Hüseyin", "Jan", "Marleen", "Kadri", "Tiit", "Olivia"]
LAST = ["Yılmaz", "Öztürk", "Çelik", "Şahin", "Doğan", "Kılıç", "Aydın", "Güneş", "de Vries",
        "Tamm", "Smith"]
TEMPLATES = [
    "Çöpler üç gündür alınmadı, beni {phone} numarasından arayın. {name}",
    "Başvuru sahibi {name}, TC {national_id}, iade için IBAN {iban} hesabına yatırın.",
    "Aracım {plate} çekildi, e-posta adresim {email} lütfen dönün",
    "{name}'in şikayeti hala çözülmedi!! tel {phone}",
    "kimlik no {national_id} ile başvurdum, cevap {email} adresine gelsin",
    "Please call me on {phone}, my name is {name} and my refund IBAN is {iban}.",
    "{plate} plakalı araç kaldırıma park ediyor, {name} ({email})",
]


def national_id(rng: random.Random) -> str:
    """A valid T.C. Kimlik No: d10 = (7*(d1+d3+d5+d7+d9) - (d2+d4+d6+d8)) mod 10,
    d11 = (d1+...+d10) mod 10, first digit not 0."""
    d = [rng.randint(1, 9)] + [rng.randint(0, 9) for _ in range(8)]
    d.append((7 * sum(d[0:9:2]) - sum(d[1:8:2])) % 10)
    d.append(sum(d) % 10)
    return "".join(map(str, d))


def invalid_national_id(rng: random.Random) -> str:
    """Eleven digits with a wrong last check digit."""
    valid = national_id(rng)
    return valid[:10] + str((int(valid[10]) + rng.randint(1, 9)) % 10)


def iban(rng: random.Random, country: str = "TR") -> str:
    """A valid IBAN (ISO 13616: check digits 98 - (BBAN + country + 00 as digits) mod 97)."""
    length = {"TR": 22, "NL": 14, "EE": 16, "GB": 18}[country]
    if country == "NL":
        bban = "ABNA" + "".join(str(rng.randint(0, 9)) for _ in range(10))
    elif country == "GB":
        bban = "NWBK" + "".join(str(rng.randint(0, 9)) for _ in range(14))
    elif country == "TR":
        bban = "".join(str(rng.randint(0, 9)) for _ in range(5)) + "0" + "".join(
            str(rng.randint(0, 9)) for _ in range(16))
    else:
        bban = "".join(str(rng.randint(0, 9)) for _ in range(length))
    digits = "".join(str(int(ch, 36)) for ch in bban + country + "00")
    check = 98 - int(digits) % 97
    compact = f"{country}{check:02d}{bban}"
    if rng.random() < 0.5:
        return " ".join(compact[i:i + 4] for i in range(0, len(compact), 4))
    return compact


def phone(rng: random.Random) -> str:
    mobile = f"5{rng.choice('0345')}{rng.randint(0, 9)}"
    a, b, c = rng.randint(200, 999), rng.randint(10, 99), rng.randint(10, 99)
    return rng.choice([
        f"0{mobile} {a} {b} {c}", f"0{mobile}{a}{b}{c}", f"+90 {mobile} {a} {b} {c}",
        f"+90 ({mobile}) {a}-{b}{c}", f"({'0' + mobile}) {a} {b} {c}", f"0{mobile}-{a}-{b}-{c}",
        f"0212 {a} {b} {c}", f"+31 6 {rng.randint(1000, 9999)} {rng.randint(1000, 9999)}",
        f"+372 5{rng.randint(100, 999)} {rng.randint(1000, 9999)}",
    ])


def plate(rng: random.Random) -> str:
    province = f"{rng.randint(1, 81):02d}"
    letters = "ABCDEFGHJKLMNOPRSTUVYZ"
    n = rng.randint(1, 3)
    digits = {1: 4, 2: rng.choice([3, 4]), 3: rng.choice([2, 3])}[n]
    word = "".join(rng.choice(letters) for _ in range(n))
    number = "".join(str(rng.randint(0, 9)) for _ in range(digits))
    return rng.choice([f"{province} {word} {number}", f"{province}{word}{number}"])


def email(rng: random.Random, name: str) -> str:
    local = name.lower().replace(" ", ".").translate(str.maketrans("ıçğöşü", "icgosu"))
    local = local.replace("i̇", "i")
    return f"{local}{rng.randint(1, 99)}@{rng.choice(['gmail.com', 'ornek.com.tr', 'mail.ee'])}"


@dataclass
class Planted:
    text: str
    name: str
    items: dict[str, str] = field(default_factory=dict)


def planted_comments(n: int, seed: int = 10004) -> list[Planted]:
    """``n`` comments, each with the personal data its template names planted in it."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        items = {"name": name, "phone": phone(rng), "national_id": national_id(rng),
                 "iban": iban(rng, rng.choice(["TR", "TR", "NL", "EE", "GB"])),
                 "plate": plate(rng), "email": email(rng, name)}
        template = rng.choice(TEMPLATES)
        written = name if rng.random() < 0.7 else name.upper()
        text = template.format(**{**items, "name": written})
        used = {k: v for k, v in items.items() if "{" + k + "}" in template}
        out.append(Planted(text, name, used))
    return out
