#include "synth/render.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

namespace pb::synth {

namespace {

constexpr double kPi = 3.14159265358979323846;

cv::Scalar bgr_scalar(const std::array<int, 3>& c) { return cv::Scalar(c[0], c[1], c[2]); }

// A muted colour: hue anywhere, saturation at most 0.25, value 0.45-0.85 (HSV -> BGR by hand).
std::array<int, 3> muted_colour(Rng& rng) {
  const double h = rng.uniform(0, 6), s = rng.uniform(0, 0.25), v = rng.uniform(0.45, 0.85);
  const double c = v * s, x = c * (1 - std::fabs(std::fmod(h, 2) - 1)), m = v - c;
  double r = 0, g = 0, b = 0;
  switch (static_cast<int>(h)) {
    case 0: r = c, g = x; break;
    case 1: r = x, g = c; break;
    case 2: g = c, b = x; break;
    case 3: g = x, b = c; break;
    case 4: r = x, b = c; break;
    default: r = c, b = x; break;
  }
  auto to8 = [&](double u) { return static_cast<int>(std::lround((u + m) * 255)); };
  return {to8(b), to8(g), to8(r)};
}

void draw_background(cv::Mat& img, Rng& rng) {
  const std::array<int, 3> base = muted_colour(rng);
  // A linear brightness ramp of up to +-25 levels in a random direction, plus per-pixel noise of
  // +-10 levels: texture, so that no background patch is a flat colour.
  const double angle = rng.uniform(0, 2 * kPi), ramp = rng.uniform(0, 25);
  const double ux = std::cos(angle) / img.cols, uy = std::sin(angle) / img.rows;
  for (int y = 0; y < img.rows; ++y) {
    auto* row = img.ptr<uint8_t>(y);
    for (int x = 0; x < img.cols; ++x) {
      const double shade = ramp * 2 * ((x * ux + y * uy) - 0.5 * (ux * img.cols + uy * img.rows));
      const int noise = static_cast<int>(rng.integer(-10, 10));
      for (int ch = 0; ch < 3; ++ch) {
        row[3 * x + ch] = cv::saturate_cast<uint8_t>(base[static_cast<size_t>(ch)] + shade + noise);
      }
    }
  }
  // Clutter: 15-40 thin muted strokes, rings and boxes.
  const int64_t strokes = rng.integer(15, 40);
  const double l = std::max(img.cols, img.rows);
  for (int64_t i = 0; i < strokes; ++i) {
    const cv::Scalar colour = bgr_scalar(muted_colour(rng));
    const cv::Point a(static_cast<int>(rng.uniform(0, img.cols)), static_cast<int>(rng.uniform(0, img.rows)));
    const int thickness = static_cast<int>(rng.integer(1, 2));
    switch (rng.integer(0, 2)) {
      case 0: {
        const cv::Point b(static_cast<int>(a.x + rng.uniform(-0.3, 0.3) * l), static_cast<int>(a.y + rng.uniform(-0.3, 0.3) * l));
        cv::line(img, a, b, colour, thickness, cv::LINE_AA);
        break;
      }
      case 1:
        cv::circle(img, a, static_cast<int>(rng.uniform(0.01, 0.05) * l), colour, thickness, cv::LINE_AA);
        break;
      default: {
        const cv::Point b(static_cast<int>(a.x + rng.uniform(0.02, 0.08) * l), static_cast<int>(a.y + rng.uniform(0.02, 0.08) * l));
        cv::rectangle(img, a, b, colour, thickness, cv::LINE_AA);
        break;
      }
    }
  }
}

// Vertices at radius `radii[i % n]` and angles start + i * 2 pi / count.
std::vector<cv::Point> polygon(const Object& o, int count, double start, const std::vector<double>& radii) {
  std::vector<cv::Point> pts;
  for (int i = 0; i < count; ++i) {
    const double a = o.angle + start + 2 * kPi * i / count;
    const double r = o.radius * radii[static_cast<size_t>(i) % radii.size()];
    pts.emplace_back(static_cast<int>(std::lround(o.cx + r * std::cos(a))), static_cast<int>(std::lround(o.cy + r * std::sin(a))));
  }
  return pts;
}

// `line_type` cv::LINE_AA for the image; cv::LINE_8 for label maps, whose values must not blend.
void draw_object(cv::Mat& img, const Object& o, const cv::Scalar& colour, int line_type) {
  std::vector<cv::Point> pts;
  switch (o.shape) {
    case Shape::kCircle:
      cv::circle(img, cv::Point(static_cast<int>(std::lround(o.cx)), static_cast<int>(std::lround(o.cy))),
                 static_cast<int>(std::lround(o.radius)), colour, cv::FILLED, line_type);
      return;
    case Shape::kSquare: pts = polygon(o, 4, kPi / 4, {1.0}); break;
    case Shape::kTriangle: pts = polygon(o, 3, -kPi / 2, {1.0}); break;
    case Shape::kStar: pts = polygon(o, 10, -kPi / 2, {1.0, 0.45}); break;
    case Shape::kCross: {
      // A plus sign: arms of half-width 0.3 r, as a 12-vertex outline.
      const double w = 0.3, c = std::cos(o.angle), s = std::sin(o.angle);
      const double xs[12] = {-w, w, w, 1, 1, w, w, -w, -w, -1, -1, -w};
      const double ys[12] = {-1, -1, -w, -w, w, w, 1, 1, w, w, -w, -w};
      for (int i = 0; i < 12; ++i) {
        const double x = xs[i] * o.radius, y = ys[i] * o.radius;
        pts.emplace_back(static_cast<int>(std::lround(o.cx + x * c - y * s)), static_cast<int>(std::lround(o.cy + x * s + y * c)));
      }
      break;
    }
  }
  cv::fillPoly(img, std::vector<std::vector<cv::Point>>{pts}, colour, line_type);
}

struct SignText {
  int thickness = 1;
  double scale = 1;
  cv::Size size;      // of the whole text
  cv::Point origin;   // bottom-left of the text, as putText takes it
};

SignText sign_text_layout(const Sign& s) {
  SignText t;
  t.thickness = std::max(1, static_cast<int>(std::lround(s.text_height / 7)));
  int baseline = 0;
  const cv::Size unit = cv::getTextSize(s.text, cv::FONT_HERSHEY_SIMPLEX, 1.0, t.thickness, &baseline);
  t.scale = s.text_height / unit.height;
  t.size = cv::getTextSize(s.text, cv::FONT_HERSHEY_SIMPLEX, t.scale, t.thickness, &baseline);
  t.origin = cv::Point(static_cast<int>(std::lround(s.x + (s.w - t.size.width) / 2)),
                       static_cast<int>(std::lround(s.y + (s.h + t.size.height) / 2)));
  return t;
}

void draw_sign(cv::Mat& img, const Sign& s) {
  const cv::Point tl(static_cast<int>(std::lround(s.x)), static_cast<int>(std::lround(s.y)));
  const cv::Point br(static_cast<int>(std::lround(s.x + s.w)), static_cast<int>(std::lround(s.y + s.h)));
  cv::rectangle(img, tl, br, cv::Scalar(240, 245, 245), cv::FILLED);
  cv::rectangle(img, tl, br, cv::Scalar(40, 40, 40), 2);
  const SignText t = sign_text_layout(s);
  cv::putText(img, s.text, t.origin, cv::FONT_HERSHEY_SIMPLEX, t.scale, cv::Scalar(20, 20, 20), t.thickness, cv::LINE_AA);
}

}  // namespace

cv::Mat render_scene(const Scene& scene, Rng& rng) {
  cv::Mat img(scene.height, scene.width, CV_8UC3);
  draw_background(img, rng);
  for (const Object& o : scene.objects) draw_object(img, o, bgr_scalar(o.bgr), cv::LINE_AA);
  if (scene.has_sign) draw_sign(img, scene.sign);
  return img;
}

double informative_patch_fraction(const Scene& scene) {
  // LLaVA-1.5 pads to a centred square of the longer side, then 24 x 24 patches cover it.
  const double l = std::max(scene.width, scene.height);
  const double ox = (l - scene.width) / 2, oy = (l - scene.height) / 2, patch = l / 24;
  int touched = 0;
  for (int py = 0; py < 24; ++py) {
    for (int px = 0; px < 24; ++px) {
      const double x0 = px * patch - ox, y0 = py * patch - oy;
      bool hit = false;
      for (const Object& o : scene.objects) {
        const double nx = std::clamp(o.cx, x0, x0 + patch), ny = std::clamp(o.cy, y0, y0 + patch);
        hit = hit || std::hypot(o.cx - nx, o.cy - ny) < o.radius;
      }
      if (scene.has_sign) {
        const Sign& s = scene.sign;
        hit = hit || (x0 < s.x + s.w && x0 + patch > s.x && y0 < s.y + s.h && y0 + patch > s.y);
      }
      touched += hit ? 1 : 0;
    }
  }
  return touched / 576.0;
}

PatchLabels patch_labels(const Scene& scene, int grid) {
  // Which object covers each pixel: 1 + its index, drawn exactly as render_scene draws it but
  // without anti-aliasing.
  cv::Mat owner(scene.height, scene.width, CV_8U, cv::Scalar(0));
  for (size_t i = 0; i < scene.objects.size(); ++i) {
    draw_object(owner, scene.objects[i], cv::Scalar(static_cast<double>(i + 1)), cv::LINE_8);
  }
  SignText text;
  if (scene.has_sign) text = sign_text_layout(scene.sign);
  const auto n = static_cast<size_t>(grid) * static_cast<size_t>(grid);
  PatchLabels labels{std::vector<int64_t>(n, 0), std::vector<int64_t>(n, 0), std::vector<int64_t>(n, 0),
                     std::vector<int64_t>(n, 0), std::vector<int64_t>(n, 0)};
  // LLaVA-1.5 `pad`: a centred square of the longer side, cut into grid x grid patches.
  const double l = std::max(scene.width, scene.height);
  const double ox = (l - scene.width) / 2, oy = (l - scene.height) / 2, patch = l / grid;
  for (int py = 0; py < grid; ++py) {
    for (int px = 0; px < grid; ++px) {
      const size_t k = static_cast<size_t>(py) * static_cast<size_t>(grid) + static_cast<size_t>(px);
      const auto x = static_cast<int>(std::floor((px + 0.5) * patch - ox));
      const auto y = static_cast<int>(std::floor((py + 0.5) * patch - oy));
      if (x < 0 || y < 0 || x >= scene.width || y >= scene.height) continue;  // padding
      if (const int id = owner.at<uint8_t>(y, x); id > 0) {
        const Object& o = scene.objects[static_cast<size_t>(id - 1)];
        labels.colour[k] = 1 + static_cast<int64_t>(o.colour);
        labels.shape[k] = 1 + static_cast<int64_t>(o.shape);
      }
      if (scene.has_sign && y >= text.origin.y - text.size.height && y < text.origin.y && x >= text.origin.x &&
          x < text.origin.x + text.size.width) {
        // Characters taken as equal-width slices of the text: close enough for Hershey capitals.
        const size_t chars = scene.sign.text.size();
        const auto slot = static_cast<size_t>((x - text.origin.x) * static_cast<int>(chars) / text.size.width);
        const char* where = std::strchr(kSignCharacters, scene.sign.text[std::min(slot, chars - 1)]);
        if (where != nullptr) {
          labels.character[k] = 1 + (where - kSignCharacters);
          labels.slot[k] = 1 + static_cast<int64_t>(std::min(slot, chars - 1));
        }
      }
    }
  }
  for (const Object& o : scene.objects) {
    const auto px = static_cast<int>(std::floor((o.cx + ox) / patch)), py = static_cast<int>(std::floor((o.cy + oy) / patch));
    if (px >= 0 && py >= 0 && px < grid && py < grid) labels.centre[static_cast<size_t>(py * grid + px)] = 1;
  }
  return labels;
}

}  // namespace pb::synth
