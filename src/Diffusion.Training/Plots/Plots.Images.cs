using Diffusion.Torch;

namespace Diffusion.Training.Plots;

public static partial class Plots
{
    private const int Gap = 2;

    /// <summary>
    /// A grid of images (N, C, H, W) with values in [−1, 1] (clamped), C = 1 (gray) or 3 (RGB),
    /// <paramref name="columns"/> per row, each pixel drawn as a scale×scale block
    /// (scale 0 = automatic: cells at least 56 pixels tall).
    /// </summary>
    public static void ImageGrid(string path, Tensor images, int columns, int scale = 0, string? title = null)
    {
        if (images.dim() != 4 || (images.size(1) != 1 && images.size(1) != 3))
            throw new ArgumentException($"ImageGrid needs (N, 1 or 3, H, W) images, got {images.Describe()}");
        ArgumentOutOfRangeException.ThrowIfLessThan(columns, 1);
        var (n, c, h, w) = ((int)images.size(0), (int)images.size(1), (int)images.size(2), (int)images.size(3));
        if (n == 0) throw new ArgumentException("ImageGrid needs at least one image");
        if (scale <= 0) scale = Math.Max(1, (56 + h - 1) / h);
        var bytes = ToBytes(images); // (N, C, H, W) as 0…255
        columns = Math.Min(columns, n);
        var rows = (n + columns - 1) / columns;
        var gridWidth = Gap + columns * (w * scale + Gap);
        // The title at double size when it fits above the grid, else at single size, widening the canvas if even that does not fit.
        var titleScale = title is not null && Canvas.TextWidth(title, 2) + 2 * Gap <= gridWidth ? 2 : 1;
        var top = title is null ? 0 : Canvas.TextHeight(titleScale) + 2 * Gap + 4;
        var width = title is null ? gridWidth : Math.Max(gridWidth, Canvas.TextWidth(title, titleScale) + 2 * Gap);
        var canvas = new Canvas(width, top + Gap + rows * (h * scale + Gap), new Rgb(128, 128, 128));
        if (title is not null) canvas.TextCentered(canvas.Width / 2, Gap + 2, title, Rgb.White, titleScale);
        var plane = h * w;
        for (var k = 0; k < n; k++)
        {
            var x0 = Gap + (k % columns) * (w * scale + Gap);
            var y0 = top + Gap + (k / columns) * (h * scale + Gap);
            var offset = k * c * plane;
            for (var y = 0; y < h; y++)
                for (var x = 0; x < w; x++)
                {
                    var i = offset + y * w + x;
                    var colour = c == 1 ? new Rgb(bytes[i], bytes[i], bytes[i]) : new Rgb(bytes[i], bytes[i + plane], bytes[i + 2 * plane]);
                    canvas.FillRect(x0 + x * scale, y0 + y * scale, scale, scale, colour);
                }
        }
        canvas.Save(path);
    }

    /// <summary>
    /// Central slices of volumes (N, 1, D, H, W) in [−1, 1]: one row per volume (at most
    /// <paramref name="maxVolumes"/>), columns axial (d = D/2, an H×W image), coronal (h = H/2,
    /// D×W) and sagittal (w = W/2, D×H).
    /// </summary>
    public static void VolumeSlices(string path, Tensor volumes, int maxVolumes = 8, int scale = 0, string? title = null)
    {
        if (volumes.dim() != 5 || volumes.size(1) != 1)
            throw new ArgumentException($"VolumeSlices needs (N, 1, D, H, W) volumes, got {volumes.Describe()}");
        ArgumentOutOfRangeException.ThrowIfLessThan(maxVolumes, 1);
        var n = (int)Math.Min(volumes.size(0), maxVolumes);
        if (n == 0) throw new ArgumentException("VolumeSlices needs at least one volume");
        var (d, h, w) = ((int)volumes.size(2), (int)volumes.size(3), (int)volumes.size(4));
        if (scale <= 0) scale = Math.Max(1, (96 + Math.Max(d, h) - 1) / Math.Max(d, h));
        byte[] bytes;
        using (var scope = torch.NewDisposeScope()) bytes = ToBytes(volumes.narrow(0, 0, n)); // (n, 1, D, H, W)

        // (label, image height, image width, voxel index of pixel (row, col) within a volume)
        (string Label, int Rows, int Cols, Func<int, int, int> Index)[] views =
        [
            ("AXIAL", h, w, (r, q) => ((d / 2) * h + r) * w + q),
            ("CORONAL", d, w, (r, q) => (r * h + h / 2) * w + q),
            ("SAGITTAL", d, h, (r, q) => (r * h + q) * w + w / 2),
        ];
        var cellW = views.Max(v => v.Cols) * scale + 3 * Gap;
        var cellH = views.Max(v => v.Rows) * scale + 3 * Gap;
        var top = (title is null ? 0 : Canvas.TextHeight(2) + 6) + Canvas.TextHeight() + 6;
        var canvas = new Canvas(Gap + views.Length * cellW, top + n * cellH, new Rgb(40, 40, 40));
        if (title is not null) canvas.TextCentered(canvas.Width / 2, 3, title, Rgb.White, 2);
        for (var v = 0; v < views.Length; v++)
            canvas.TextCentered(Gap + v * cellW + cellW / 2, top - Canvas.TextHeight() - 3, views[v].Label, Rgb.White);
        var voxels = d * h * w;
        for (var k = 0; k < n; k++)
            for (var v = 0; v < views.Length; v++)
            {
                var (_, rows, cols, index) = views[v];
                var x0 = Gap + v * cellW + (cellW - cols * scale) / 2;
                var y0 = top + k * cellH + (cellH - rows * scale) / 2;
                for (var r = 0; r < rows; r++)
                    for (var q = 0; q < cols; q++)
                    {
                        var b = bytes[k * voxels + index(r, q)];
                        canvas.FillRect(x0 + q * scale, y0 + r * scale, scale, scale, new Rgb(b, b, b));
                    }
            }
        canvas.Save(path);
    }

    /// <summary>Values in [−1, 1] (clamped; NaN → 0) as bytes 0…255, row-major.</summary>
    private static byte[] ToBytes(Tensor values)
    {
        using var scope = torch.NewDisposeScope();
        var x = values.detach().to(Device.CPU, ScalarType.Float32).contiguous().ToArray<float>();
        var bytes = new byte[x.Length];
        for (var i = 0; i < x.Length; i++)
        {
            var v = float.IsNaN(x[i]) ? -1f : Math.Clamp(x[i], -1f, 1f);
            bytes[i] = (byte)Math.Round((v + 1) * 127.5);
        }
        return bytes;
    }
}
