"""Word lists of the deterministic cleaner and classifier: transparent, editable, tested.

Every phrase is lower case; matching is case-insensitive on word boundaries. Spaces inside
a phrase match any run of spaces or hyphens ("award winning" matches "award - winning").
"""

# Site names (and their usual misspellings) that prompts cite as a quality signal.
SITES = [
    "artstation", "art station", "arstation", "artstationhq", "deviantart", "devian art",
    "deviant art", "behance", "pixiv", "cgsociety", "cg society", "cgsociety contest winner",
    "zbrush central", "polycount", "instagram", "pinterest", "flickr", "unsplash", "500px",
    "dribbble", "reddit", "tumblr", "conceptartworld", "artstation hq", "furaffinity",
    "dezeen", "pexels", "shutterstock", "getty images", "cgtrader", "artstation trending",
    "facebook", "twitter",
]  # fmt: skip

# Quality tags and boosters: they ask for "better" images without describing content.
QUALITY_TAGS = [
    "masterpiece", "best quality", "high quality", "highest quality", "top quality",
    "ultra quality", "hq", "hq artwork", "high detail", "high details", "highly detailed",
    "hyper detailed", "hyperdetailed", "ultra detailed", "ultra detail", "extremely detailed",
    "insanely detailed", "insane detail", "insane details", "intricate details",
    "intricate detail", "very detailed", "super detailed", "fine details", "amazing detail",
    "detailed and intricate", "intricate and detailed", "sharp focus", "sharp foccus",
    "award winning", "award winning photograph", "award winning photography",
    "award winning photo", "award winning art", "epic composition", "perfect composition",
    "cinematic lighting", "dramatic lighting", "volumetric lighting", "studio lighting",
    "ultra realistic", "ultrarealistic", "hyperrealistic", "hyper realistic", "hyperrealism",
    "photorealistic", "photorealism", "hyper realism", "high resolution", "high definition",
    "high res", "highres", "spectacular quality", "crisp quality", "8k resolution",
    "4k resolution", "contest winner",
    "unreal engine quality render", "quality render", "sense of awe",
    "intricately detailed", "beautifully detailed", "very very detailed",
    "very very very detailed", "very very very very detailed", "extremly detailed",
    "ultra fine detail", "ultra fine detailed", "ultradetailed", "ultra high detail",
    "ultra high quality", "ultra high resolution", "extremely high quality", "high details",
    "fine texture detail", "sharp detailed", "perfect anatomy", "perfect proportions",
    "great composition", "dynamic composition", "cinematic composition", "epic lighting",
    "dynamic lighting", "beautiful lighting", "studio quality", "production quality",
    "top rated", "no blur", "post processing", "photo realistic", "photo realism",
    "hyperreal", "lifelike", "very coherent artwork", "very coherent symmetrical artwork",
    "coherent symmetrical artwork", "stunning cinematography", "national geographic",
    "professional photographer", "intricate artwork",
]  # fmt: skip

# Resolution and render-engine tags (digits may be spaced out: "8 k", "4 k").
RENDER_TAGS = [
    "octane render", "octane", "unreal engine", "unreal engine 4", "unreal engine 5",
    "unreal 4", "unreal 5", "redshift render", "redshift", "vray", "v-ray", "cryengine",
    "ray tracing", "raytracing", "path tracing", "lumion", "keyshot", "blender render",
    "3d octane render", "uhd", "hd", "fhd", "hdr", "ultra hd", "4k uhd", "8k uhd",
    "1080p", "720p", "4k", "8k", "16k", "32k", "2k",
    "nvidia raytracing demo", "raytracing demo", "ray traced", "frostbite 3 engine",
    "frostbite engine", "daz", "daz3d", "cg render", "octane rendering", "octane rendered",
    "3 d octane render", "3 d octane rendered", "3d octane rendered", "unreal engine render",
    "unreal engine rendered", "unreal engine 5 render", "unreal engine 5 rendered",
    "smooth render",
]  # fmt: skip

# Camera bodies, lenses and film stocks: how a photo was taken, not what it shows. Focal
# lengths ("35mm", "8 5 mm"), apertures ("f/1.8") and ISO values are rules in rules.py.
CAMERA_TAGS = [
    "dslr", "arri alexa", "arriflex", "arriflex 35", "sony a7r", "sony a7r iv", "sony a7",
    "sony a7 iii", "canon eos", "canon eos r5", "canon 5d", "nikon d850", "hasselblad",
    "leica", "leica summilux", "portra 400", "portra", "kodak portra", "kodak portra 400",
    "ektachrome", "kodachrome", "kodak color film stock", "film stock", "anamorphic lens",
    "anamorphic lenses", "shallow depth of field", "s log", "megapixels",
]  # fmt: skip

# Whole comma-separated segments that only name a medium or genre as a booster. Removed
# only when they are a segment of their own, never inside the subject's description.
STYLE_BOOSTERS = [
    "digital painting", "digital art", "concept art", "illustration", "fantasy art",
    "character concept", "character design", "matte painting", "art", "artwork",
    "hyper detailed digital art", "digital illustration", "trending art", "epic", "cinematic",
    "elegant", "gorgeous", "detailed", "realistic", "wallpaper", "4k wallpaper",
    "8k wallpaper", "photography", "dof", "depth of field", "bokeh", "artistic",
    "beautiful", "amazing", "intricate", "sharp", "professional", "vivid colors",
    "vibrant colors", "high contrast", "high saturation", "ultra realistic illustration",
    "rpg portrait", "fanart", "art print", "h 6 4 0", "raw", "smooth", "stunning",
    "breathtaking", "ilustration", "matte", "realism", "magnificent", "spectacular",
    "sharpness", "very artistic", "trending", "popular", "coherent", "very beautiful",
    "very very beautiful",
]  # fmt: skip

# Artists whose names are stuck on the end of many prompts (removed wherever they stand).
ARTISTS = [
    "greg rutkowski", "rutkowski", "artgerm", "stanley artgerm lau", "alphonse mucha",
    "mucha", "wlop", "beeple", "craig mullins", "tooth wu", "makoto shinkai", "james jean",
    "peter mohrbacher", "sachin teng", "ruan jia", "simon stalenhag", "gaston bussiere",
    "josan gonzales", "beksinski", "zdzislaw beksinski", "zdzisław beksiński",
    "greg hildebrandt", "takato yamamoto", "tom bagshaw", "jesper ejsing", "ilya kuvshinov",
    "hr giger", "h r giger", "vincent di fate", "jean delville", "magali villeneuve",
    "lois van baarle", "loish", "rhads", "marc simonetti", "akihiko yoshida",
    "yoichi hatakenaka", "wayne barlowe", "sung choi", "eric pfeiffer", "gabriel garza",
    "casper konefal", "ayami kojima", "gil elvgren", "ross tran", "kilian eng",
    "sergey kolesov", "heng z", "william adolphe bouguereau", "bouguereau", "frank frazetta",
    "moebius", "alex grey", "mandy jurgens", "feng zhu", "james gurney", "ian pesty",
    "james gilleard", "dan mumford", "jordan grimmer", "donato giancola", "andrea chiampo",
    "victo ngai", "angus mckie", "nixeu", "ian sprigger", "krenz cushart", "charlie bowater",
    "raymond swanland", "karol bak", "sparth", "anato finnstark", "mark brooks",
    "mark brookes", "jim burns", "brian froud", "liam brazier", "quint buchholz",
    "thomas kinkade", "thomas kindkade", "norman rockwell", "norman rockwel", "john kirby",
    "met mangindaan", "greg manchess", "bastien lecouffe deharme", "pino daeni",
    "josephine wall", "harry clarke", "amanda sage", "erik johansson", "jon foster",
    "ismail inceoglu", "jakub rozalski", "evgeny lushpin", "cushart krentz",
    "gilleard james", "tom bagshaw", "jenny saville", "lucian freud", "steven outram",
]  # fmt: skip

# Words that hold a prompt back for a safety review (a starting point; extend per site).
UNSAFE_WORDS = [
    "nsfw", "nude", "nudes", "naked", "nudity", "porn", "porno", "pornographic", "sex",
    "sexual", "erotic", "erotica", "explicit", "hentai", "topless", "genitals", "genitalia",
    "penis", "vagina", "nipples", "gore", "gory", "guro", "decapitated", "decapitation",
    "dismembered", "dismemberment", "mutilated", "mutilation", "beheaded", "beheading",
    "rape", "raped", "suicide", "self harm", "child abuse", "lolicon", "shotacon",
]  # fmt: skip
