"""A labelled set of comments for the themes' tests, written for them: four known topics
(garbage collection, road repair, staff attitude, water bills) in Turkish and English, ten
comments per topic and language, worded differently, with other forms of the same words
("çöp", "çöpler", "çöpleri"), misspellings and words shared across topics ("gelmedi", "again"),
as real comments have."""

from __future__ import annotations

#: (topic, language, comment)
LABELLED: list[tuple[str, str, str]] = [
    # garbage collection
    ("garbage", "tr", "Çöpler üç gündür toplanmadı, sokak koku içinde."),
    ("garbage", "tr", "Çöp kamyonu mahalleye hiç uğramıyor, konteyner taştı."),
    ("garbage", "tr", "Konteynerin etrafı çöp dolu, kediler çöpleri dağıtıyor."),
    ("garbage", "tr", "Çöp toplama saatleri belli değil, çöpler kapının önünde bekliyor."),
    ("garbage", "tr", "Geri dönüşüm kutusu boşaltılmadı, çöp konteyneri de dolu."),
    ("garbage", "tr", "Cop kamyonu gece geçip gürültü yapıyor ama çöpü de almıyor."),
    ("garbage", "tr", "Çöp konteynerleri yıkanmıyor, koku dayanılmaz."),
    ("garbage", "tr", "Bizim sokakta çöpler haftada bir toplanıyor, yetersiz."),
    ("garbage", "tr", "Konteyner kırık, çöpler yere dökülüyor."),
    ("garbage", "tr", "Çöp toplayan ekip konteyneri boşaltmadan gitti."),
    ("garbage", "en", "The garbage has not been collected for a week and the bins smell."),
    ("garbage", "en", "Rubbish bins overflowing again, the garbage truck never came."),
    ("garbage", "en", "Garbage collection skipped our street, bins still full."),
    ("garbage", "en", "The recycling bin was not emptied and garbage is piling up."),
    ("garbage", "en", "Bins are broken and the rubbish spills onto the pavement."),
    ("garbage", "en", "Garbage trucks come at random hours, collection is unreliable."),
    ("garbage", "en", "Nobody collected the garbage bags after the holiday."),
    ("garbage", "en", "The rubbish collection crew left half the bins full."),
    ("garbage", "en", "Smelly garbage bins next to the school, please collect more often."),
    ("garbage", "en", "Collection of garbage is late every week, bins overflow."),
    # road repair
    ("road", "tr", "Yoldaki çukur aylardır kapatılmadı, araba lastiğim patladı."),
    ("road", "tr", "Asfalt bozuk, yol çalışması yarım bırakıldı."),
    ("road", "tr", "Caddedeki çukurlar yağmurda su dolup göle dönüyor, yol tamir edilmeli."),
    ("road", "tr", "Yol yapımı bitmedi, asfalt dökülmedi, her yer toz."),
    ("road", "tr", "Kaldırım ve yol kırık, asfalt yaması hemen bozuldu."),
    ("road", "tr", "Çukuru kapattılar ama asfalt yine çöktü."),
    ("road", "tr", "Yolun ortasında büyük çukur var, tehlikeli."),
    ("road", "tr", "Asfalt çalışması gece yapıldı ama yol hala bozuk."),
    ("road", "tr", "Yol tamiri için başvurdum, çukurlar duruyor."),
    ("road", "tr", "Yeni asfalt bir ayda çatladı, yol yine çukur dolu."),
    ("road", "en", "The pothole on our road has been there for months, it damaged my tyre."),
    ("road", "en", "Road repair left unfinished, the asphalt is broken."),
    ("road", "en", "Potholes everywhere on the main road after the rain."),
    ("road", "en", "They patched the pothole but the road surface cracked again."),
    ("road", "en", "The asphalt on the road was never resurfaced after the works."),
    ("road", "en", "Deep potholes make the road dangerous for cyclists."),
    ("road", "en", "Road works blocked the street for weeks and the asphalt is uneven."),
    ("road", "en", "Please repair the road, the potholes are getting bigger."),
    ("road", "en", "Resurfacing of the road was done badly, asphalt already broken."),
    ("road", "en", "A pothole near the junction, the road repair team never came."),
    # staff attitude
    ("staff", "tr", "Personel çok kaba davrandı, telefonu yüzüme kapattı."),
    ("staff", "tr", "Memur ilgisizdi, soruma cevap vermedi, çok saygısız."),
    ("staff", "tr", "Çalışanların tavrı kabaydı, beni azarladılar."),
    ("staff", "tr", "Personel güler yüzlü değil, ilgisiz ve kaba."),
    ("staff", "tr", "Görevli bana bağırdı, davranışı kabul edilemez."),
    ("staff", "tr", "Memurlar kendi aralarında konuşup bizi beklettiler, saygısızlık."),
    ("staff", "tr", "Personelin tavrı çok kötüydü, kibar değildi."),
    ("staff", "tr", "Görevli kaba ve ilgisizdi, şikayetimi dinlemedi."),
    ("staff", "tr", "Çalışan personel saygısız davrandı."),
    ("staff", "tr", "Memur hanım çok kaba konuştu, tavrı yanlıştı."),
    ("staff", "en", "The staff member was rude and hung up on me."),
    ("staff", "en", "Staff were unfriendly and rude, nobody listened."),
    ("staff", "en", "The officer was impolite and shouted at me."),
    ("staff", "en", "Rude staff at the desk, very disrespectful attitude."),
    ("staff", "en", "The employee's attitude was unprofessional and rude."),
    ("staff", "en", "Staff ignored me and were rude when I asked again."),
    ("staff", "en", "The officer on the phone was dismissive and impolite."),
    ("staff", "en", "Unfriendly staff, their attitude needs to change."),
    ("staff", "en", "An employee was rude and disrespectful to my mother."),
    ("staff", "en", "The staff attitude was arrogant and unhelpful."),
    # water bills
    ("water", "tr", "Su faturası bu ay iki katı geldi, sayaç yanlış okunmuş."),
    ("water", "tr", "Fatura çok yüksek, su sayacı kontrol edilmeli."),
    ("water", "tr", "Su faturam hatalı, tüketmediğim suyu ödüyorum."),
    ("water", "tr", "Sayaç okuması yapılmadan tahmini fatura kesildi."),
    ("water", "tr", "Faturadaki su tüketimi gerçek değil, sayaç arızalı."),
    ("water", "tr", "Su fiyatı arttı, faturalar ödenemez oldu."),
    ("water", "tr", "Boş evime su faturası geldi, sayaç sıfır."),
    ("water", "tr", "Fatura itirazım cevapsız kaldı, su sayacı değişmedi."),
    ("water", "tr", "Su faturasında gecikme faizi haksız yere eklenmiş."),
    ("water", "tr", "Sayaç okuyucu gelmedi, fatura yine tahmini."),
    ("water", "en", "My water bill doubled this month, the meter was misread."),
    ("water", "en", "The water bill is far too high, please check the meter."),
    ("water", "en", "I was billed for water I never used, the bill is wrong."),
    ("water", "en", "Estimated water bill again, nobody read the meter."),
    ("water", "en", "The meter is faulty and my water bills keep rising."),
    ("water", "en", "Water charges on the bill are higher than last year."),
    ("water", "en", "A water bill for an empty flat, the meter shows zero."),
    ("water", "en", "My complaint about the water bill got no answer, meter not replaced."),
    ("water", "en", "Late fee added to my water bill unfairly."),
    ("water", "en", "The bill shows water use that the meter reading does not support."),
]


#: The period the stored labelled comments fall in (January and February 2026).
THEMES_PERIOD = {"period": "custom", "start": "2026-01-01", "last": "2026-02-28"}


def build_labelled(app) -> None:  # noqa: ANN001 - a Flask app
    """``LABELLED`` as responses: garbage comments from detractors (recommend 2), the others
    a third from detractors (3) and two thirds from promoters (10); in fen and park, a comment a day
    from 2 January, so in January and February; and three garbage comments in zabita, too few
    responses to be shown."""
    import datetime as dt

    from tests.support.datasets.survey import SurveyData, utc
    from tests.support.factories import make_complaint

    with app.app_context():
        from app.models import Complainant, ComplaintStatus

        data = SurveyData()
        start = utc(2026, 1, 2)

        def respond(unit: str, when: dt.datetime, language: str, text: str,
                    recommend: int) -> None:
            data.number += 1
            complainant = Complainant(name="Deniz Yılmaz", language=language,
                                      survey_consent=True)
            data.db.session.add(complainant)
            complaint = make_complaint(
                external_id=f"T-{data.number:04d}", received_at=utc(2025, 12, 20),
                category=data.categories["cop"], unit=data.units[unit],
                resolved_at=utc(2025, 12, 28), status=ComplaintStatus.RESOLVED,
                complainant=complainant)
            data.response(complaint, when, {"overall": 1 if recommend < 7 else 5,
                                            "recommend": recommend, "comment": text},
                          language=language)

        for i, (topic, language, text) in enumerate(LABELLED):
            recommend = 2 if topic == "garbage" else (3 if i % 3 == 0 else 10)
            respond("fen" if i % 2 else "park", start + dt.timedelta(hours=17 * i), language,
                    text, recommend)
        for i in range(3):
            respond("zabita", utc(2026, 1, 10 + i), "tr",
                    f"Zabıta önündeki çöpler toplanmadı, konteyner taştı ({i}).", 1)
        data.commit()
