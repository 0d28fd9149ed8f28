// A SynthVQA scene: what is in one image (objects, an optional sign), drawn from a seeded stream so
// that the question asked about it has exactly one right answer. Rendering: synth/render.h.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "synth/synth_rng.h"

namespace pb::synth {

enum class Shape { kCircle, kSquare, kTriangle, kStar, kCross };
enum class Colour { kRed, kGreen, kBlue, kYellow, kPurple, kOrange };
inline constexpr std::array<Shape, 5> kShapes = {Shape::kCircle, Shape::kSquare, Shape::kTriangle, Shape::kStar,
                                                 Shape::kCross};
inline constexpr std::array<Colour, 6> kColours = {Colour::kRed,    Colour::kGreen,  Colour::kBlue,
                                                   Colour::kYellow, Colour::kPurple, Colour::kOrange};

const char* shape_name(Shape s);         // "circle", ...
const char* shape_plural(Shape s);       // "circles", ...
const char* colour_name(Colour c);       // "red", ...
// Nominal BGR of a colour (saturated, far apart in hue so a 2-patch blob is unambiguous).
std::array<int, 3> colour_bgr(Colour c);

struct Object {
  Shape shape;
  Colour colour;
  double cx, cy;        // centre, pixels
  double radius;        // half the extent, pixels
  double angle;         // rotation, radians (squares, triangles, stars, crosses)
  std::array<int, 3> bgr;  // the colour actually drawn: nominal + small jitter
};

struct Sign {
  std::string text;     // 1-3 characters from kSignCharacters
  double x, y, w, h;    // the board, pixels (top-left corner and size)
  double text_height;   // pixels
};

struct Scene {
  int width = 0, height = 0;
  std::vector<Object> objects;  // 1-6, non-overlapping
  bool has_sign = false;
  Sign sign;
};

// Letters and digits that stay distinct at a few pixels per stroke (no O/0, I/1, S/5, Z/2 pairs).
inline constexpr const char* kSignCharacters = "ABCDEFGHJKLMNPRTUVWXY346789";

// Image size: longer side 256-640 px, aspect ratio (long/short) 1-2 either way, so padding to a
// square matters (LLaVA-1.5 `pad`).
void draw_canvas_size(Rng& rng, Scene& scene);
// Object radius range as a fraction of the longer side: after padding to a square and resizing to
// 336 px, a radius of 0.04-0.08 L spans 2-4 of the 24 patches across, so the objects of an image cover
// a minority of the 576 patches (synth tests measure the mean coverage).
inline constexpr double kMinRadiusFrac = 0.04, kMaxRadiusFrac = 0.08;

// Places an object of the given kind where it overlaps nothing already placed (and not the sign);
// false when 200 tries found no room.
bool place_object(Rng& rng, Scene& scene, Shape shape, Colour colour);
// Places a sign with `text` where it overlaps no object; false when there is no room.
bool place_sign(Rng& rng, Scene& scene, const std::string& text);
std::string draw_sign_text(Rng& rng);  // 1-3 characters

// A crowded scene for training the vision tower alone (train-synth --vision-scenes dense), never a
// benchmark sample: a square canvas (no padding patches), a 3-character sign, then objects until
// `max_objects` are placed or no room is left. Several times the labelled patches of a sample per
// image, so the tower sees more shapes and glyphs for the same compute.
Scene draw_dense_scene(Rng& rng, int max_objects = 16);

}  // namespace pb::synth
