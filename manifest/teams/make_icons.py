"""Draw the two Teams app icons next to this file: ``color.png`` and ``outline.png``.

Run once by hand (needs Pillow, which the bot itself does not): ``.venv/bin/python
manifest/teams/make_icons.py``. The PNGs are committed; ``bot.admin.manifests`` only copies them.

- ``color.png``: 192×192, a rounded square in calm blue (the manifest's ``accentColor``) with a
  white speech bubble that says "BTS" in the same blue. The symbol stays inside the central
  120×120 area, so nothing is lost when Teams crops or rounds the tile.
- ``outline.png``: 32×32, the same speech bubble as a white outline with three dots, on a
  transparent background. Every pixel is pure white; only the alpha channel varies (Teams
  requires white + transparent only).

Shapes are drawn at 8× size and scaled down, which gives smooth (anti-aliased) edges. The text uses
the font bundled with Pillow (``ImageFont.load_default``), so the result does not depend on the
fonts installed on the machine.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

HERE = Path(__file__).resolve().parent
BLUE = (29, 91, 140)  # #1D5B8C, same as accentColor in manifest.json
WHITE = (255, 255, 255)
SCALE = 8


def _bubble(draw: ImageDraw.ImageDraw, box: tuple[float, float, float, float], fill: int) -> None:
    """A filled speech bubble: rounded rectangle with a tail at the bottom left."""
    left, top, right, bottom = box
    height = bottom - top
    width = right - left
    draw.rounded_rectangle(box, radius=height * 0.28, fill=fill)
    tail = [
        (left + width * 0.18, bottom - height * 0.05),
        (left + width * 0.40, bottom - height * 0.05),
        (left + width * 0.12, bottom + height * 0.32),
    ]
    draw.polygon(tail, fill=fill)


def _downscale(mask: Image.Image, size: int) -> Image.Image:
    return mask.resize((size, size), Image.Resampling.LANCZOS)


def make_color(path: Path) -> None:
    size = 192
    big = size * SCALE
    # alpha masks, drawn large: the tile, and the white bubble on top of it
    tile = Image.new("L", (big, big), 0)
    ImageDraw.Draw(tile).rounded_rectangle((0, 0, big - 1, big - 1), radius=36 * SCALE, fill=255)
    bubble = Image.new("L", (big, big), 0)
    _bubble(ImageDraw.Draw(bubble), (36 * SCALE, 44 * SCALE, 156 * SCALE, 124 * SCALE), 255)

    image = Image.new("RGBA", (size, size), (*BLUE, 0))
    image.putalpha(_downscale(tile, size))
    white = Image.new("RGBA", (size, size), (*WHITE, 255))
    image.paste(white, (0, 0), _downscale(bubble, size))

    # "BTS" in blue, centred in the bubble body (drawn at final size; FreeType anti-aliases it)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=44)
    draw.text(
        (96, 84), "BTS", font=font, fill=(*BLUE, 255), anchor="mm", stroke_width=1, stroke_fill=BLUE
    )
    image.save(path, optimize=True)


def make_outline(path: Path) -> None:
    size = 32
    big = size * SCALE
    s = SCALE
    mask = Image.new("L", (big, big), 0)
    draw = ImageDraw.Draw(mask)
    outer = (3 * s, 5 * s, 29 * s, 23 * s)
    _bubble(draw, outer, 255)
    inner_box = (5 * s, 7 * s, 27 * s, 21 * s)
    draw.rounded_rectangle(inner_box, radius=14 * s * 0.22, fill=0)  # hollow it: 2 px line
    for cx in (11, 16, 21):  # three dots: "someone is typing"
        draw.ellipse(((cx - 1.6) * s, (14 - 1.6) * s, (cx + 1.6) * s, (14 + 1.6) * s), fill=255)

    image = Image.new("RGBA", (size, size), (*WHITE, 0))
    image.putalpha(_downscale(mask, size))
    image.save(path, optimize=True)


def main() -> None:
    make_color(HERE / "color.png")
    make_outline(HERE / "outline.png")
    print(f"wrote {HERE / 'color.png'} and {HERE / 'outline.png'}")


if __name__ == "__main__":
    main()
