"""The five HPD v2 prompt styles, told from the RAW prompt's style words (transparent rules).

Each class has a keyword list; a prompt's class is the one whose keywords it mentions
most (longer phrases first: "digital painting" counts for concept-art, not paintings).
A keyword in the first comma-separated segment, where the subject and its medium are
named ("portrait of an anime girl"), counts twice.
Ties go to the class listed first in `STYLE_KEYWORDS`; no keyword at all means "others".
"""

from __future__ import annotations

import re

from annotation.intake.cleaning.patterns import normalise_phrase, trie_pattern
from annotation.models import Style

STYLE_KEYWORDS: dict[str, list[str]] = {
    Style.ANIME: [
        "anime", "manga", "cartoon", "cartoons", "pixar", "disney", "studio ghibli", "ghibli",
        "cel shaded", "cel shading", "comic", "comic book", "comics", "chibi", "kawaii",
        "makoto shinkai", "pokemon", "animated", "animation", "webtoon", "simpsons",
        "toon", "looney tunes", "dreamworks", "ilya kuvshinov", "kyoto animation", "waifu",
        "marvel comic", "vector art", "pixiv", "hayao miyazaki", "miyazaki", "cartoon style",
        "claymation", "stop motion", "stop frame animation", "sanrio", "lego",
        "pixel art", "pixelart", "gravity falls", "nendoroid", "key visual", "spider verse",
    ],
    Style.PHOTO: [
        "photo", "photograph", "photography", "photographic", "photorealistic", "dslr",
        "35mm", "50mm", "85mm", "mm lens", "lens", "canon", "nikon", "sony", "leica",
        "bokeh", "film still", "movie still", "still from", "portra", "kodak", "polaroid",
        "national geographic", "depth of field", "shot on", "documentary", "paparazzi",
        "selfie", "webcam", "cctv", "security camera", "daguerreotype", "daguerrotype",
        "photoshoot", "f/1.8", "f/8", "iso", "award winning photograph", "photojournalism",
        "news footage", "screenshot", "footage", "closeup photo", "portrait photo",
        "studio photo", "stock photo", "vogue", "annie leibovitz", "camera",
        "film", "movie", "movie scene", "cinematic still", "filmstill", "promo shoot",
        "advertising", "kodachrome", "ektachrome", "cinematographic", "arri alexa",
    ],
    Style.PAINTINGS: [
        "painting", "painted", "oil on canvas", "oil painting", "watercolor", "watercolour",
        "acrylic", "gouache", "impressionist", "impressionism", "baroque", "renaissance",
        "monet", "van gogh", "rembrandt", "brush strokes", "brushstrokes", "canvas",
        "fresco", "art nouveau", "expressionism", "pre-raphaelite", "romanticism",
        "edward hopper", "klimt", "alphonse mucha", "mucha", "gaston bussiere",
        "bouguereau", "john singer sargent", "caravaggio", "da vinci", "picasso", "dali",
        "salvador dali", "magritte", "ukiyo-e", "ukiyo e", "woodblock", "pastel", "tempera",
        "norman rockwell", "oil", "impasto", "beksinski", "frazetta", "mural", "pencil drawing",
        "sketch", "charcoal", "etching", "engraving", "lithography", "ink drawing",
        "painter", "airbrush", "classicism", "nicholas roerich", "roerich", "jean delville",
        "gil elvgren", "alex grey", "albert bierstadt", "thomas moran", "max ernst",
        "joan miro", "drew struzan",
    ],
    Style.CONCEPT_ART: [
        "concept art", "artstation", "digital art", "digital painting", "unreal engine",
        "octane render", "matte painting", "cgsociety", "3d render", "render", "fantasy art",
        "game art", "greg rutkowski", "wlop", "artgerm", "environment design",
        "character design", "character concept", "concept design", "sci-fi", "scifi",
        "cyberpunk", "steampunk", "dieselpunk", "blender", "zbrush", "cinema 4d", "c4d",
        "3d", "cgi", "volumetric lighting", "ray tracing", "vray", "redshift",
        "isometric", "low poly", "voxel", "game", "video game", "dnd", "d&d", "rpg",
        "fantasy", "epic fantasy", "dark fantasy", "illustration", "digital illustration",
        "simon stalenhag", "stalenhag", "synthwave", "dragon", "mech", "in-game",
    ],
}  # fmt: skip

_CLASS_OF = {
    normalise_phrase(phrase): style
    for style, phrases in STYLE_KEYWORDS.items()
    for phrase in phrases
}
_ORDER = list(STYLE_KEYWORDS)
_KEYWORD = re.compile(rf"(?<!\w)(?:{trie_pattern(_CLASS_OF)})(?!\w)", re.IGNORECASE)


def classify_style(raw: str) -> str:
    """One of the five `Style` values for a raw prompt."""
    counts = dict.fromkeys(_ORDER, 0)
    first_segment_end = raw.find(",")
    if first_segment_end < 0:
        first_segment_end = len(raw)
    for match in _KEYWORD.finditer(raw):
        style = _CLASS_OF.get(normalise_phrase(match.group()))
        if style is not None:
            counts[style] += 2 if match.start() < first_segment_end else 1
    best = max(_ORDER, key=lambda style: counts[style])
    return best if counts[best] else Style.OTHERS
