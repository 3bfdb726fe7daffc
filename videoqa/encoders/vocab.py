"""The word list behind the offline ``tiny`` tokenizers.

Common English words of video question answering (question words, people, animals,
objects, places, actions, colours, counts, relations), lower case, written for this
project. The order is the token-id order, so it must only ever be appended to: changing
it changes the ids and therefore the ``tiny`` embeddings.
"""

from __future__ import annotations

_WORDS = """
what who whom whose where when why how which whether is are was were be been being am
do does did done doing has have had having can could will would shall should may might
must not no yes and or but if then than so because while after before during until since
the a an this that these those there here it its they them their he him his she her hers
we us our you your i me my one ones someone something anything nothing everyone everything
of in on at to from by with without for about into onto over under above below between
behind beside near next front back inside outside around through across along toward
towards up down off out away together top bottom left right middle center side end
first second third last next previous begin beginning start end finally again still
also just only very too much many more most less least few several some any all each
every both other another same different such own enough
man men woman women person people boy boys girl girls child children kid kids baby babies
adult player players team teams crowd audience group friend friends family mother father
mom dad son daughter brother sister parent parents wife husband teacher student students
doctor nurse police officer driver worker chef cook singer dancer actor actress host
reporter speaker customer soldier referee coach rider runner swimmer climber skier
animal animals dog dogs puppy cat cats kitten horse horses cow cows sheep goat pig bird
birds chicken duck fish shark whale dolphin elephant lion tiger bear monkey rabbit mouse
deer giraffe zebra snake frog turtle insect bee butterfly spider camel penguin
car cars truck bus bike bikes bicycle motorcycle train plane airplane boat ship vehicle
wheel road street highway bridge traffic sign light lights
house home room kitchen bedroom bathroom office building city town village park garden
yard field farm forest tree trees grass flower flowers mountain mountains hill river lake
sea ocean beach sand water snow ice sky cloud clouds sun rain wind fire smoke rock rocks
stone stage studio store shop market restaurant school classroom hospital church gym
pool court stadium track ring arena playground station airport
table chair chairs sofa couch bed door window wall floor ceiling stairs desk shelf box
bag bottle cup glass plate bowl knife fork spoon pan pot oven stove fridge sink food
bread cake pizza fruit apple banana orange egg eggs meat rice salad soup drink coffee
tea milk juice wine beer ball balls bat racket net goal hoop basket rope helmet gloves
shoes shoe shirt hat dress jacket coat pants glasses mask umbrella phone camera computer
laptop screen television tv video picture photo book paper pen pencil card money
guitar piano drum drums microphone music song toy toys doll game games instrument
knife tool tools hammer brush paint bucket ladder map flag clock watch key keys
head face eye eyes ear ears nose mouth hair hand hands arm arms leg legs foot feet finger
fingers body back shoulder
red orange yellow green blue purple pink brown black white gray grey silver gold
color colour colors colours dark bright
big small large little tall short long high low fast slow quick young old new happy sad
angry scared surprised excited tired calm loud quiet hot cold warm wet dry clean dirty
full empty open closed heavy light hard soft round square good bad best worst beautiful
pretty funny strange real fake busy alone same similar
zero one two three four five six seven eight nine ten eleven twelve twenty hundred
thousand once twice times number count many
go goes going went gone come comes coming came walk walks walking walked run runs
running ran jump jumps jumping jumped sit sits sitting sat stand stands standing stood
lie lies lying lay fall falls falling fell climb climbs climbing climbed ride rides
riding rode drive drives driving drove fly flies flying flew swim swims swimming swam
dance dances dancing danced sing sings singing sang play plays playing played throw
throws throwing threw catch catches catching caught kick kicks kicking kicked hit hits
hitting hold holds holding held carry carries carrying carried pick picks picking
picked put puts putting take takes taking took took give gives giving gave get gets
getting got make makes making made eat eats eating ate drink drinks drinking drank
cook cooks cooking cooked cut cuts cutting wash washes washing washed open opens opening
opened close closes closing closed push pushes pushing pushed pull pulls pulling pulled
look looks looking looked watch watches watching watched see sees seeing saw seen
talk talks talking talked speak speaks speaking spoke say says saying said tell tells
telling told ask asks asking asked answer answers answering answered smile smiles
smiling smiled laugh laughs laughing laughed cry cries crying cried wave waves waving
waved point points pointing pointed turn turns turning turned move moves moving moved
stop stops stopping stopped start starts starting started finish finishes finished
enter enters entering entered leave leaves leaving left arrive arrives arriving arrived
follow follows following followed chase chases chasing chased fight fights fighting
fought hug hugs hugging hugged kiss kisses kissing kissed shake shakes shaking shook
clap claps clapping clapped write writes writing wrote read reads reading draw draws
drawing drew paint paints painting painted build builds building built fix fixes
fixing fixed use uses using used show shows showing showed wear wears wearing wore
feed feeds feeding fed pet pets petting touch touches touching touched hold lift lifts
lifting lifted drop drops dropping dropped place places placing placed pour pours
pouring poured mix mixes mixing mixed shoot shoots shooting shot score scores scoring
scored win wins winning won lose loses losing lost bounce bounces bouncing bounced roll
rolls rolling rolled slide slides sliding slid spin spins spinning spun skate skating
ski skiing surf surfing happen happens happening happened want wants wanting wanted try
tries trying tried help helps helping helped think thinks thought feel feels feeling felt
know knows knew like likes liked need needs needed seem seems seemed become becomes
became keep keeps keeping kept let lets call calls calling called wait waits waiting
waited
time times moment second seconds minute minutes hour day night morning evening today
scene scenes shot clip frame frames action activity event reason purpose way kind type
part piece thing things place area position direction shape size
? . , ! ' " - : ; ( ) s
"""

VIDEOQA_WORDS: tuple[str, ...] = tuple(dict.fromkeys(_WORDS.split()))
"""The tiny tokenizers' vocabulary (duplicates removed, first occurrence kept)."""
