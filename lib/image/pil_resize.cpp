#include "image/pil_resize.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "core/error.h"

namespace pb {
namespace {

// Fixed-point weights: 32-bit accumulator minus 8 bits of pixel value minus 2 bits of headroom for
// kernels whose partial sums leave [0, 1] (Resample.c, PRECISION_BITS).
constexpr int kPrecisionBits = 32 - 8 - 2;
constexpr double kSupport = 2.0;  // the cubic kernel is zero beyond |x| >= 2

// Keys' cubic convolution kernel with a = -0.5 (Catmull-Rom), written as Pillow evaluates it so
// that the double results, and hence the rounded integer weights, are identical.
double cubic_kernel(double x) {
  constexpr double a = -0.5;
  x = std::fabs(x);
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}

// Integer weights of a run of output positions [first, first + count) along one axis.
struct AxisWeights {
  int ksize = 0;                 // taps reserved per output position
  std::vector<int> start;        // first input index per output position
  std::vector<int> taps;         // number of used taps per output position
  std::vector<int32_t> weights;  // [count, ksize], scaled by 2^kPrecisionBits
};

int max_taps(int in_size, int out_size) {
  const double filterscale = std::max(static_cast<double>(in_size) / out_size, 1.0);
  return static_cast<int>(std::ceil(kSupport * filterscale)) * 2 + 1;
}

AxisWeights compute_axis_weights(int in_size, int out_size, int first, int count) {
  // Pillow receives the source box as float; float(in_size) is exact below 2^24 (enforced).
  const double scale = static_cast<double>(static_cast<float>(in_size)) / out_size;
  // Downscaling stretches the kernel by `scale` so that it also low-passes (antialiasing).
  const double filterscale = std::max(scale, 1.0);
  const double support = kSupport * filterscale;
  AxisWeights w;
  w.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  w.start.resize(count);
  w.taps.resize(count);
  w.weights.assign(static_cast<size_t>(count) * w.ksize, 0);
  std::vector<double> k(w.ksize);
  const double inv_filterscale = 1.0 / filterscale;
  for (int i = 0; i < count; ++i) {
    const int xx = first + i;
    const double center = (xx + 0.5) * scale;
    // Truncation toward zero, then clamping, as Pillow rounds the window ends.
    const int xmin = std::max(static_cast<int>(center - support + 0.5), 0);
    const int xmax = std::min(static_cast<int>(center + support + 0.5), in_size);
    const int n = xmax - xmin;
    double sum = 0.0;
    for (int x = 0; x < n; ++x) {
      k[x] = cubic_kernel((x + xmin - center + 0.5) * inv_filterscale);
      sum += k[x];
    }
    int32_t* out = &w.weights[static_cast<size_t>(i) * w.ksize];
    for (int x = 0; x < n; ++x) {
      const double v = sum != 0.0 ? k[x] / sum : k[x];
      // Round half away from zero into fixed point (Resample.c, normalize_coeffs_8bpc).
      out[x] = static_cast<int32_t>(v < 0 ? -0.5 + v * (1 << kPrecisionBits)
                                          : 0.5 + v * (1 << kPrecisionBits));
    }
    w.start[i] = xmin;
    w.taps[i] = n;
  }
  return w;
}

inline uint8_t clip_fixed(int32_t acc) {
  // Arithmetic shift: floor division by 2^22, then saturate like Pillow's clip8 lookup table.
  const int32_t v = acc >> kPrecisionBits;
  return static_cast<uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v));
}

constexpr int32_t kHalf = 1 << (kPrecisionBits - 1);  // rounds the final shift to nearest

// One row of the horizontal pass: out has w.start.size() RGB pixels.
void resample_row(const uint8_t* in, const AxisWeights& w, uint8_t* out) {
  const size_t count = w.start.size();
  for (size_t i = 0; i < count; ++i) {
    const uint8_t* p = in + static_cast<size_t>(w.start[i]) * 3;
    const int32_t* k = &w.weights[i * w.ksize];
    int32_t r = kHalf, g = kHalf, b = kHalf;
    for (int t = 0; t < w.taps[i]; ++t, p += 3) {
      r += p[0] * k[t];
      g += p[1] * k[t];
      b += p[2] * k[t];
    }
    out[i * 3 + 0] = clip_fixed(r);
    out[i * 3 + 1] = clip_fixed(g);
    out[i * 3 + 2] = clip_fixed(b);
  }
}

void check_size(int in_size, int out_size, const char* axis) {
  if (out_size <= 0) {
    throw Error(fmt::format("pil_resize_bicubic: output {} must be positive, got {}", axis, out_size));
  }
  // Pillow passes sizes through a float box; keep inputs where that is exact.
  if (in_size > (1 << 24)) {
    throw Error(fmt::format("pil_resize_bicubic: input {} {} exceeds 2^24", axis, in_size));
  }
  // Pillow raises MemoryError when its coefficient buffer would overflow an int (precompute_coeffs).
  if (out_size > INT_MAX / (max_taps(in_size, out_size) * static_cast<int>(sizeof(double)))) {
    throw Error(fmt::format("pil_resize_bicubic: output {} {} is too large (Pillow cannot "
                            "resize to it either)", axis, out_size));
  }
}

}  // namespace

namespace detail {

cv::Mat pil_resize_bicubic_window(const RgbRowSource& src, int out_w, int out_h,
                                  const cv::Rect& window) {
  if (src.width <= 0 || src.height <= 0) {
    throw Error(fmt::format("pil_resize_bicubic: empty input image ({}x{})", src.width, src.height));
  }
  check_size(src.width, out_w, "width");
  check_size(src.height, out_h, "height");
  if (window.empty() || window.x < 0 || window.y < 0 || window.x + window.width > out_w ||
      window.y + window.height > out_h) {
    throw Error(fmt::format("pil_resize_bicubic: window {}x{}+{}+{} is outside the {}x{} output",
                            window.width, window.height, window.x, window.y, out_w, out_h));
  }
  // Pillow skips a pass when that dimension is unchanged (ImagingResampleInner).
  const bool need_h = out_w != src.width;
  const bool need_v = out_h != src.height;

  AxisWeights wv;
  int row_first = window.y;
  int row_count = window.height;
  if (need_v) {
    wv = compute_axis_weights(src.height, out_h, window.y, window.height);
    row_first = wv.start.front();
    row_count = wv.start.back() + wv.taps.back() - row_first;
  }
  AxisWeights wh;
  if (need_h) wh = compute_axis_weights(src.width, out_w, window.x, window.width);

  // Horizontal pass over the source rows the vertical pass will read, into a uint8 intermediate.
  const size_t row_bytes = static_cast<size_t>(window.width) * 3;
  std::vector<uint8_t> mid(static_cast<size_t>(row_count) * row_bytes);
  std::vector<uint8_t> scratch(static_cast<size_t>(src.width) * 3);
  const uint8_t* previous = nullptr;
  for (int r = 0; r < row_count; ++r) {
    const uint8_t* in = src.row(row_first + r, scratch.data());
    uint8_t* out = &mid[static_cast<size_t>(r) * row_bytes];
    if (r > 0 && in == previous && in != scratch.data()) {
      std::memcpy(out, out - row_bytes, row_bytes);  // same source row as before (padding)
    } else if (need_h) {
      resample_row(in, wh, out);
    } else {
      std::memcpy(out, in + static_cast<size_t>(window.x) * 3, row_bytes);
    }
    previous = in;
  }

  cv::Mat result(window.height, window.width, CV_8UC3);
  if (!need_v) {
    for (int r = 0; r < window.height; ++r) {
      std::memcpy(result.ptr<uint8_t>(r), &mid[static_cast<size_t>(r) * row_bytes], row_bytes);
    }
    return result;
  }
  // Vertical pass; integer sums are exact, so accumulating row by row gives Pillow's result.
  std::vector<int32_t> acc(row_bytes);
  for (int i = 0; i < window.height; ++i) {
    std::fill(acc.begin(), acc.end(), kHalf);
    const int32_t* k = &wv.weights[static_cast<size_t>(i) * wv.ksize];
    for (int t = 0; t < wv.taps[i]; ++t) {
      const uint8_t* in = &mid[static_cast<size_t>(wv.start[i] - row_first + t) * row_bytes];
      const int32_t kt = k[t];
      for (size_t x = 0; x < row_bytes; ++x) acc[x] += in[x] * kt;
    }
    uint8_t* out = result.ptr<uint8_t>(i);
    for (size_t x = 0; x < row_bytes; ++x) out[x] = clip_fixed(acc[x]);
  }
  return result;
}

}  // namespace detail

cv::Mat pil_resize_bicubic(const cv::Mat& rgb, int out_w, int out_h) {
  if (rgb.empty() || rgb.type() != CV_8UC3) {
    throw Error(fmt::format("pil_resize_bicubic: expected a non-empty CV_8UC3 image, got {}x{} type {}",
                            rgb.cols, rgb.rows, rgb.type()));
  }
  detail::RgbRowSource src;
  src.width = rgb.cols;
  src.height = rgb.rows;
  src.row = [&rgb](int y, uint8_t*) { return rgb.ptr<uint8_t>(y); };
  return detail::pil_resize_bicubic_window(src, out_w, out_h, cv::Rect(0, 0, out_w, out_h));
}

}  // namespace pb
