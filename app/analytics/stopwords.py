"""Stop words of the survey languages, shipped with the code (no download at run time): the
words a theme must not be named by ("ve", "the", "een", "ja"), written here from the Snowball
project's lists, cut to the words common in short comments, with the informal forms people type
("cok" for "çok"). Not scikit-learn's English list: it holds "bill", "fire" and "system", which
are what comments are about."""

from __future__ import annotations

import functools

from app.wordforms import fold, stems

TURKISH = """
acaba ama ancak artık aslında az bana bazen bazı belki ben beni benim bir biraz birçok biri
birkaç birşey biz bize bizi bizim bu buna bunda bundan bunu bunun burada böyle çok çünkü da
daha dahi de defa diye diğer dolayı en fakat falan filan gibi göre hala hâlâ hem hep hepsi her
herkes hiç hiçbir için ile ise işte kadar ki kim kimse mi mı mu mü nasıl ne neden nerede
nereye niye o olan olarak oldu olduğu olmak olur on ona ondan onlar onları onu onun orada
öyle sadece sanki se sen siz şey şimdi şu şuna şunu tabi tam tüm ve veya ya yani yine yok
zaten bile var değil gerek olsun oldukça sonra önce artik cok cunku degil hic icin sey simdi
su tum iste boyle oyle gore hepimiz bunlar şunlar kez kere hemen lütfen lutfen teşekkür
teşekkürler tesekkur tesekkurler ederim
"""

ENGLISH = """
a about above after again against all am an and any are as at be because been before being
below between both but by can could did do does doing don't down during each few for from
further had has have having he her here hers herself him himself his how i i'm if in into is it
its itself just me more most my myself no nor not now of off on once only or other our ours
ourselves out over own same she should so some such than that the their theirs them themselves
then there these they this those through to too under until up very was we were what when
where which while who whom why will with would you your yours yourself yourselves also still
ever never please thanks thank yet even really much many get got
"""

DUTCH = """
aan al alles als altijd andere ben bij daar dan dat de der deze die dit doch doen door dus een
eens en er ge geen geweest haar had heb hebben heeft hem het hier hij hoe hun iemand iets ik
in is ja je kan kon kunnen maar me meer men met mij mijn moet na naar niet niets nog nu of om
omdat onder ons ook op over reeds te tegen toch toen tot u uit uw van veel voor want waren was
wat werd wezen wie wil worden wordt zal ze zelf zich zij zijn zo zonder zou heel echt erg
bedankt dank
"""

ESTONIAN = """
aga ei ega ehk et ja jah juba kas kes kui kuid kõik ma me mida mina mis mitte mu mul mulle
nad nagu nii nüüd oli olid olen oleme olete on ongi pole sa see seda selle sest siin siis
ta te teda tema ka veel vaid väga või üle ikka liiga aitäh tänan
"""

LISTS = {
    "tr": TURKISH.split(),
    "en": ENGLISH.split(),
    "nl": DUTCH.split(),
    "et": ESTONIAN.split(),
}


@functools.cache
def stop_stems(language: str) -> frozenset[str]:
    """The folded stems (as ``app.wordforms`` stores them) of ``language``'s stop words; an
    unknown language gets the Turkish ones, as the stemmer does."""
    words = LISTS.get(language, LISTS["tr"])
    found: set[str] = set()
    for word in words:
        found |= {fold(s) for s in stems(word, language if language in LISTS else "tr")}
        found.add(fold(word))
    return frozenset(found)
