#include "synth/scene.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace pb::synth {

const char* shape_name(Shape s) {
  switch (s) {
    case Shape::kCircle: return "circle";
    case Shape::kSquare: return "square";
    case Shape::kTriangle: return "triangle";
    case Shape::kStar: return "star";
    case Shape::kCross: return "cross";
  }
  return "?";
}

const char* shape_plural(Shape s) {
  switch (s) {
    case Shape::kCircle: return "circles";
    case Shape::kSquare: return "squares";
    case Shape::kTriangle: return "triangles";
    case Shape::kStar: return "stars";
    case Shape::kCross: return "crosses";
  }
  return "?";
}

const char* colour_name(Colour c) {
  switch (c) {
    case Colour::kRed: return "red";
    case Colour::kGreen: return "green";
    case Colour::kBlue: return "blue";
    case Colour::kYellow: return "yellow";
    case Colour::kPurple: return "purple";
    case Colour::kOrange: return "orange";
  }
  return "?";
}

std::array<int, 3> colour_bgr(Colour c) {
  switch (c) {
    case Colour::kRed: return {30, 30, 220};
    case Colour::kGreen: return {40, 190, 40};
    case Colour::kBlue: return {220, 70, 20};
    case Colour::kYellow: return {20, 225, 240};
    case Colour::kPurple: return {190, 40, 150};
    case Colour::kOrange: return {10, 130, 255};
  }
  return {0, 0, 0};
}

void draw_canvas_size(Rng& rng, Scene& scene) {
  const auto longer = static_cast<int>(rng.integer(256, 640));
  const double aspect = rng.uniform(1.0, 2.0);
  const auto shorter = static_cast<int>(std::lround(longer / aspect));
  if (rng.chance(0.5)) {
    scene.width = longer;
    scene.height = shorter;
  } else {
    scene.width = shorter;
    scene.height = longer;
  }
}

namespace {

double longer_side(const Scene& s) { return std::max(s.width, s.height); }

bool circle_hits_rect(double cx, double cy, double r, double x, double y, double w, double h) {
  const double nx = std::clamp(cx, x, x + w), ny = std::clamp(cy, y, y + h);
  return (cx - nx) * (cx - nx) + (cy - ny) * (cy - ny) < r * r;
}

}  // namespace

bool place_object(Rng& rng, Scene& scene, Shape shape, Colour colour) {
  const double l = longer_side(scene);
  const double radius = rng.uniform(kMinRadiusFrac, kMaxRadiusFrac) * l;
  const double margin = 0.02 * l;
  if (2 * (radius + margin) >= std::min(scene.width, scene.height)) return false;
  for (int attempt = 0; attempt < 200; ++attempt) {
    const double cx = rng.uniform(radius + margin, scene.width - radius - margin);
    const double cy = rng.uniform(radius + margin, scene.height - radius - margin);
    bool free = true;
    for (const Object& o : scene.objects) {
      // 1.25x the touching distance: objects never merge into one blob at 24x24 patches.
      free = free && std::hypot(o.cx - cx, o.cy - cy) > 1.25 * (o.radius + radius) + margin;
    }
    if (scene.has_sign) {
      const Sign& s = scene.sign;
      free = free && !circle_hits_rect(cx, cy, radius + margin, s.x, s.y, s.w, s.h);
    }
    if (!free) continue;
    Object o{shape, colour, cx, cy, radius, rng.uniform(-0.3, 0.3), colour_bgr(colour)};
    for (int& channel : o.bgr) channel = std::clamp(channel + static_cast<int>(rng.integer(-20, 20)), 0, 255);
    scene.objects.push_back(o);
    return true;
  }
  return false;
}

std::string draw_sign_text(Rng& rng) {
  const std::string alphabet = kSignCharacters;
  std::string text;
  const int64_t length = rng.integer(1, 3);
  for (int64_t i = 0; i < length; ++i) text += alphabet[static_cast<size_t>(rng.integer(0, alphabet.size() - 1))];
  return text;
}

bool place_sign(Rng& rng, Scene& scene, const std::string& text) {
  const double l = longer_side(scene);
  // Characters 6-9% of the longer side tall: 20-30 px of the 336 px model input, about two patches.
  const double text_height = rng.uniform(0.06, 0.09) * l;
  const double pad = 0.35 * text_height;
  const double w = 0.95 * text_height * static_cast<double>(text.size()) + 2 * pad;
  const double h = text_height + 2 * pad;
  const double margin = 0.02 * l;
  if (w + 2 * margin >= scene.width || h + 2 * margin >= scene.height) return false;
  for (int attempt = 0; attempt < 200; ++attempt) {
    const double x = rng.uniform(margin, scene.width - w - margin);
    const double y = rng.uniform(margin, scene.height - h - margin);
    bool free = true;
    for (const Object& o : scene.objects) {
      free = free && !circle_hits_rect(o.cx, o.cy, o.radius + margin, x, y, w, h);
    }
    if (!free) continue;
    scene.has_sign = true;
    scene.sign = Sign{text, x, y, w, h, text_height};
    return true;
  }
  return false;
}

Scene draw_dense_scene(Rng& rng, int max_objects) {
  Scene scene;
  // Square, so every one of the 576 patches is image; the benchmark's size range (draw_canvas_size).
  scene.width = scene.height = static_cast<int>(rng.integer(256, 640));
  std::string text;
  const auto letters = static_cast<int64_t>(std::char_traits<char>::length(kSignCharacters));
  for (int i = 0; i < 3; ++i) text += kSignCharacters[static_cast<size_t>(rng.integer(0, letters - 1))];
  place_sign(rng, scene, text);
  for (int i = 0; i < max_objects; ++i) {
    if (!place_object(rng, scene, rng.pick(kShapes), rng.pick(kColours))) break;
  }
  return scene;
}

}  // namespace pb::synth
