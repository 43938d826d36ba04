namespace Diffusion.Training.Plots;

/// <summary>An 8-bit sRGB colour.</summary>
public readonly record struct Rgb(byte R, byte G, byte B)
{
    public static readonly Rgb White = new(255, 255, 255), Black = new(0, 0, 0), Gray = new(150, 150, 150), LightGray = new(225, 225, 225);

    /// <summary>Distinct series colours (matplotlib's "tab10").</summary>
    public static readonly Rgb[] Palette =
    [
        new(31, 119, 180), new(255, 127, 14), new(44, 160, 44), new(214, 39, 40), new(148, 103, 189),
        new(140, 86, 75), new(227, 119, 194), new(127, 127, 127), new(188, 189, 34), new(23, 190, 207),
    ];
}

/// <summary>
/// An RGB raster with the few drawing operations plots need: pixels, alpha-blended dots,
/// rectangles, lines and 5×7 text. Coordinates outside the canvas are clipped.
/// </summary>
public sealed class Canvas
{
    public int Width { get; }
    public int Height { get; }

    /// <summary>Row-major RGB bytes, width·height·3.</summary>
    public byte[] Pixels { get; }

    public Canvas(int width, int height, Rgb background)
    {
        if (width <= 0 || height <= 0) throw new ArgumentException($"canvas size must be positive, got {width}×{height}");
        Width = width;
        Height = height;
        Pixels = new byte[checked(width * height * 3)];
        FillRect(0, 0, width, height, background);
    }

    public void Set(int x, int y, Rgb c)
    {
        if ((uint)x >= (uint)Width || (uint)y >= (uint)Height) return;
        var i = (y * Width + x) * 3;
        Pixels[i] = c.R; Pixels[i + 1] = c.G; Pixels[i + 2] = c.B;
    }

    public void SetGray(int x, int y, byte v) => Set(x, y, new Rgb(v, v, v));

    /// <summary>Paints colour c over the pixel with opacity alpha ∈ [0, 1].</summary>
    public void Blend(int x, int y, Rgb c, double alpha)
    {
        if ((uint)x >= (uint)Width || (uint)y >= (uint)Height) return;
        var i = (y * Width + x) * 3;
        Pixels[i] = Mix(Pixels[i], c.R, alpha);
        Pixels[i + 1] = Mix(Pixels[i + 1], c.G, alpha);
        Pixels[i + 2] = Mix(Pixels[i + 2], c.B, alpha);
    }

    private static byte Mix(byte under, byte over, double alpha) => (byte)Math.Round(under + (over - under) * alpha);

    public void FillRect(int x, int y, int w, int h, Rgb c)
    {
        for (var yy = Math.Max(0, y); yy < Math.Min(Height, y + h); yy++)
            for (var xx = Math.Max(0, x); xx < Math.Min(Width, x + w); xx++)
                Set(xx, yy, c);
    }

    /// <summary>A one-pixel outline of the rectangle [x, x + w) × [y, y + h).</summary>
    public void DrawRect(int x, int y, int w, int h, Rgb c)
    {
        FillRect(x, y, w, 1, c);
        FillRect(x, y + h - 1, w, 1, c);
        FillRect(x, y, 1, h, c);
        FillRect(x + w - 1, y, 1, h, c);
    }

    /// <summary>A disc of the given radius (0 = one pixel) centred at (cx, cy), blended with alpha.</summary>
    public void Dot(double cx, double cy, double radius, Rgb c, double alpha)
    {
        var x0 = (int)Math.Floor(cx - radius);
        var x1 = (int)Math.Ceiling(cx + radius);
        var y0 = (int)Math.Floor(cy - radius);
        var y1 = (int)Math.Ceiling(cy + radius);
        var r2 = Math.Max(radius * radius, 0.25);
        for (var y = y0; y <= y1; y++)
            for (var x = x0; x <= x1; x++)
            {
                double dx = x + 0.5 - cx, dy = y + 0.5 - cy;
                if (dx * dx + dy * dy <= r2) Blend(x, y, c, alpha);
            }
    }

    /// <summary>A one-pixel line from (x0, y0) to (x1, y1), blended with alpha (DDA: one dot per pixel along the longer axis).</summary>
    public void Line(double x0, double y0, double x1, double y1, Rgb c, double alpha = 1)
    {
        var n = (int)Math.Ceiling(Math.Max(Math.Abs(x1 - x0), Math.Abs(y1 - y0)));
        for (var i = 0; i <= n; i++)
        {
            var f = n == 0 ? 0 : (double)i / n;
            Blend((int)Math.Floor(x0 + (x1 - x0) * f), (int)Math.Floor(y0 + (y1 - y0) * f), c, alpha);
        }
    }

    /// <summary>Draws text with its top-left corner at (x, y); scale multiplies the 5×7 glyphs.</summary>
    public void Text(int x, int y, string text, Rgb c, int scale = 1)
    {
        for (var k = 0; k < text.Length; k++)
            for (var gy = 0; gy < BitmapFont.Height; gy++)
                for (var gx = 0; gx < BitmapFont.Width; gx++)
                    if (BitmapFont.IsOn(text[k], gx, gy))
                        FillRect(x + (k * BitmapFont.Advance + gx) * scale, y + gy * scale, scale, scale, c);
    }

    /// <summary>Text centred horizontally on cx.</summary>
    public void TextCentered(int cx, int y, string text, Rgb c, int scale = 1) =>
        Text(cx - TextWidth(text, scale) / 2, y, text, c, scale);

    public static int TextWidth(string text, int scale = 1) => BitmapFont.MeasureWidth(text) * scale;

    public static int TextHeight(int scale = 1) => BitmapFont.Height * scale;

    public byte[] ToPng() => Png.Encode(Width, Height, Pixels);

    public void Save(string path) => Png.Write(path, Width, Height, Pixels);
}
