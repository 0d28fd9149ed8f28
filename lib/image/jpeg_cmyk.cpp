#include "image/jpeg_cmyk.h"

#include <csetjmp>
#include <cstdio>  // jpeglib.h needs FILE and size_t declared first
#include <vector>

#include <jpeglib.h>

#include <fmt/format.h>

#include "core/error.h"

namespace pb::detail {
namespace {

// libjpeg reports fatal errors through a callback that must not return; we longjmp back to the
// decoding function, which keeps no C++ objects with destructors in its frame.
struct JpegErrorState {
  jpeg_error_mgr mgr;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

[[noreturn]] void on_jpeg_error(j_common_ptr cinfo) {
  auto* state = reinterpret_cast<JpegErrorState*>(cinfo->err);
  state->mgr.format_message(cinfo, state->message);
  std::longjmp(state->jump, 1);
}

void on_jpeg_message(j_common_ptr) {}  // warnings: PIL ignores them too

// Decodes into `cmyk` (width*height*4 bytes, preallocated). Returns false with state.message set
// on a libjpeg error or when the output is not 4-channel width x height.
bool read_cmyk_samples(const uint8_t* data, size_t size, int width, int height, uint8_t* cmyk,
                       JpegErrorState& state) {
  jpeg_decompress_struct cinfo;
  cinfo.err = jpeg_std_error(&state.mgr);
  state.mgr.error_exit = on_jpeg_error;
  state.mgr.output_message = on_jpeg_message;
  state.message[0] = '\0';
  if (setjmp(state.jump)) {
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, data, static_cast<unsigned long>(size));
  jpeg_read_header(&cinfo, TRUE);
  cinfo.out_color_space = JCS_CMYK;  // libjpeg converts YCCK to CMYK; defaults otherwise, as PIL
  jpeg_start_decompress(&cinfo);
  if (cinfo.output_components != 4 || static_cast<int>(cinfo.output_width) != width ||
      static_cast<int>(cinfo.output_height) != height) {
    std::snprintf(state.message, sizeof(state.message), "unexpected CMYK output layout");
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = cmyk + static_cast<size_t>(cinfo.output_scanline) * width * 4;
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  return true;
}

// Pillow's MULDIV255: a*b/255 rounded, with integer shifts.
inline int mul_div_255(int a, int b) {
  const int t = a * b + 128;
  return ((t >> 8) + t) >> 8;
}

}  // namespace

cv::Mat decode_cmyk_jpeg_rgb(const uint8_t* data, size_t size, int width, int height,
                             const std::string& source_name) {
  JpegErrorState state;
  std::vector<uint8_t> cmyk(static_cast<size_t>(width) * height * 4);
  if (!read_cmyk_samples(data, size, width, height, cmyk.data(), state)) {
    throw Error(fmt::format("cannot read image '{}': corrupt JPEG data ({})", source_name,
                            state.message));
  }
  cv::Mat rgb(height, width, CV_8UC3);
  for (int y = 0; y < height; ++y) {
    const uint8_t* in = &cmyk[static_cast<size_t>(y) * width * 4];
    uint8_t* out = rgb.ptr<uint8_t>(y);
    for (int x = 0; x < width; ++x, in += 4, out += 3) {
      // "CMYK;I" stores 255 - sample; cmyk2rgb then gives (255-K) - (C*(255-K))/255 per channel,
      // which with the inversion is k - ((255-c)*k)/255 in terms of the stored samples c, k.
      const int k = in[3];
      for (int c = 0; c < 3; ++c) {
        const int v = k - mul_div_255(255 - in[c], k);
        out[c] = static_cast<uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v));
      }
    }
  }
  return rgb;
}

}  // namespace pb::detail
