// Row kernels of the convolutions with few output channels (conv_narrow.cpp, conv_narrow_kernels.cpp): one row of
// positions at a time, bfloat16 channels-last data as raw bits, float32 arithmetic. No ATen here.
#pragma once
#include "lanes.h"
#include <cstdint>

namespace dt::kernels {
// Channels are processed in blocks of `lanes` (lanes.h), `narrow_tile` positions or weight blocks at a time.
constexpr int64_t narrow_tile = 8;

// A stride-1 convolution seen as rows: `taps` (kernel depth × kernel height) input rows feed each output row; along a
// row, kernel_width taps with `pad` positions of zeros on each side.
struct Geometry {
  int64_t taps, kernel_width, pad, width, out_width, channels, outputs;
  int64_t padded_channels() const { return (channels + lanes - 1) / lanes * lanes; }
  // Positions in a padded input row: the pad at both ends, and a tile of slack that a last tile may read.
  int64_t padded_width() const { return width + 2 * pad + narrow_tile; }
  // Positions in a padded output-gradient row: kernel_width − 1 at both ends, and the slack.
  int64_t padded_out_width() const { return out_width + 2 * (kernel_width - 1) + narrow_tile; }
};

// Rows are float32 and zero-padded: input rows padded_width × padded_channels (the pad, then the row), gradient rows
// padded_out_width × outputs (kernel_width − 1 zeros, then the row). Weights and weight gradients are float32 (outputs,
// taps, kernel_width, padded_channels), zero past C.

// One padded input row from input row x (width × channels bfloat16), or zeros where x is nullptr (a row in the padding).
void narrow_padded_row(const uint16_t* x, const Geometry& g, float* out);

// y (out_width × outputs) of one output row from the `taps` input rows it reads.
void narrow_forward_row(const float* const* rows, const Geometry& g, const float* w, const float* bias, uint16_t* y);

// dx (width × channels) of one input row from the `taps` output-gradient rows that read it.
void narrow_backward_data_row(const float* const* dy_rows, const Geometry& g, const float* w, uint16_t* dx);

// Adds one output row's contribution (dy: out_width × outputs) to dw and to db (outputs; may be nullptr).
// d: out_width·outputs floats of scratch.
void narrow_backward_weights_row(const float* const* rows, const uint16_t* dy, const Geometry& g, float* d, float* dw, float* db);
}  // namespace dt::kernels
