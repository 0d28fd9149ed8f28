#include "report/line_plot.h"

#include <fmt/format.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <numeric>

#include "core/error.h"

namespace pb {

namespace {

// Tableau 10 (matplotlib's default cycle), then 8 darker hues unlike any of them (navy, maroon, teal,
// olive, indigo, dark magenta, goldenrod, slate), as BGR: a default comparison has 14 methods, and a
// colour shared by two of them is read as one.
const cv::Scalar kColours[] = {{180, 119, 31}, {14, 127, 255}, {44, 160, 44},  {40, 39, 214},  {189, 103, 148},
                               {75, 86, 140},  {194, 119, 227}, {127, 127, 127}, {34, 189, 188}, {207, 190, 23},
                               {128, 0, 0},    {0, 0, 128},    {128, 128, 0},  {0, 128, 128},  {130, 0, 75},
                               {139, 0, 139},  {32, 165, 218}, {79, 79, 47}};
constexpr size_t kColourCount = std::size(kColours);
constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;
const cv::Scalar kBlack(30, 30, 30), kGrid(228, 228, 228), kWhite(255, 255, 255);

void text(cv::Mat& img, const std::string& s, cv::Point at, double scale, const cv::Scalar& colour, int thickness = 1) {
  cv::putText(img, s, at, kFont, scale, colour, thickness, cv::LINE_AA);
}

cv::Size text_size(const std::string& s, double scale, int thickness = 1) {
  int baseline = 0;
  return cv::getTextSize(s, kFont, scale, thickness, &baseline);
}

void marker(cv::Mat& img, cv::Point c, int shape, const cv::Scalar& colour, int r = 6) {
  switch (shape % 6) {
    case 0: cv::circle(img, c, r, colour, cv::FILLED, cv::LINE_AA); break;
    case 1: cv::rectangle(img, c - cv::Point(r - 1, r - 1), c + cv::Point(r - 1, r - 1), colour, cv::FILLED); break;
    case 2: {
      const std::vector<cv::Point> tri = {c + cv::Point(0, -r - 1), c + cv::Point(r + 1, r), c + cv::Point(-r - 1, r)};
      cv::fillConvexPoly(img, tri, colour, cv::LINE_AA);
      break;
    }
    case 3: {
      const std::vector<cv::Point> dia = {c + cv::Point(0, -r - 2), c + cv::Point(r + 1, 0), c + cv::Point(0, r + 2),
                                          c + cv::Point(-r - 1, 0)};
      cv::fillConvexPoly(img, dia, colour, cv::LINE_AA);
      break;
    }
    case 4:
      cv::line(img, c + cv::Point(-r, -r), c + cv::Point(r, r), colour, 3, cv::LINE_AA);
      cv::line(img, c + cv::Point(-r, r), c + cv::Point(r, -r), colour, 3, cv::LINE_AA);
      break;
    default:
      cv::drawMarker(img, c, colour, cv::MARKER_STAR, 2 * r + 4, 2, cv::LINE_AA);
      break;
  }
}

void dashed_line(cv::Mat& img, cv::Point a, cv::Point b, const cv::Scalar& colour) {
  const double len = std::hypot(b.x - a.x, b.y - a.y);
  constexpr double kDash = 10, kGap = 7;
  for (double t = 0; t < len; t += kDash + kGap) {
    const double e = std::min(len, t + kDash);
    const cv::Point p(a.x + static_cast<int>((b.x - a.x) * t / len), a.y + static_cast<int>((b.y - a.y) * t / len));
    const cv::Point q(a.x + static_cast<int>((b.x - a.x) * e / len), a.y + static_cast<int>((b.y - a.y) * e / len));
    cv::line(img, p, q, colour, 2, cv::LINE_AA);
  }
}

double nice_number(double x, bool round) {
  const double exp = std::floor(std::log10(x));
  const double f = x / std::pow(10.0, exp);
  double nf;
  if (round) {
    nf = f < 1.5 ? 1 : f < 2.25 ? 2 : f < 3.5 ? 2.5 : f < 7.5 ? 5 : 10;
  } else {
    nf = f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10;
  }
  return nf * std::pow(10.0, exp);
}

// Enough decimals to tell ticks `step` apart: 0.25 steps need 2, 0.5 need 1, 20 need 0.
std::string tick_text(double v, double step) {
  const double magnitude = std::floor(std::log10(step) + 1e-9);
  const double mantissa = step / std::pow(10.0, magnitude);
  int decimals = std::max(0, static_cast<int>(-magnitude));
  if (std::fabs(mantissa - 2.5) < 1e-6 && magnitude <= 0) ++decimals;
  if (std::fabs(v) < step * 1e-9) v = 0;  // no "-0.0"
  return fmt::format("{:.{}f}", v, decimals);
}

}  // namespace

std::vector<double> nice_ticks(double lo, double hi, int target) {
  if (!(hi > lo)) {
    const double pad = lo == 0 ? 1.0 : std::fabs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  const double step = nice_number(nice_number(hi - lo, false) / std::max(1, target - 1), true);
  std::vector<double> ticks;
  const double first = std::floor(lo / step), last = std::ceil(hi / step);
  for (double k = first; k <= last; k += 1.0) ticks.push_back(k * step);
  return ticks;
}

void write_line_plot_png(const LinePlot& plot, const std::string& path) {
  double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
  for (const PlotSeries& s : plot.series) {
    if (s.x.size() != s.y.size()) throw Error(fmt::format("{}: series '{}' has {} x but {} y values", path, s.label, s.x.size(), s.y.size()));
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      xmin = std::min(xmin, s.x[i]);
      xmax = std::max(xmax, s.x[i]);
      ymin = std::min(ymin, s.y[i]);
      ymax = std::max(ymax, s.y[i]);
    }
  }
  if (!std::isfinite(xmin)) throw Error(fmt::format("{}: nothing to plot (no finite points)", path));
  const std::vector<double> xt = nice_ticks(xmin, xmax, 8), yt = nice_ticks(ymin, ymax);
  const double x0 = xt.front(), x1 = xt.back(), y0 = yt.front(), y1 = yt.back();

  // Legend width from the longest label, so long method names are never cut.
  int legend_w = 0;
  for (const PlotSeries& s : plot.series) legend_w = std::max(legend_w, text_size(s.label, 0.55).width);
  legend_w += 70;
  const int left = 95, right = legend_w + 30, top = 70, bottom = 80;
  cv::Mat img(plot.height, plot.width + legend_w, CV_8UC3, kWhite);
  const cv::Rect area(left, top, img.cols - left - right, img.rows - top - bottom);
  // Data map into `inner`, inset from the frame so markers on the extreme ticks are not cut by it.
  constexpr int kInset = 14;
  const cv::Rect inner(area.x + kInset, area.y + kInset, area.width - 2 * kInset, area.height - 2 * kInset);
  auto px = [&](double x) { return inner.x + static_cast<int>(std::lround((x - x0) / (x1 - x0) * inner.width)); };
  auto py = [&](double y) { return inner.y + inner.height - static_cast<int>(std::lround((y - y0) / (y1 - y0) * inner.height)); };

  // Grid, ticks and tick labels.
  for (double t : xt) {
    const int x = px(t);
    cv::line(img, {x, area.y}, {x, area.y + area.height}, kGrid, 1);
    cv::line(img, {x, area.y + area.height}, {x, area.y + area.height + 6}, kBlack, 1);
    const std::string s = tick_text(t, xt.size() > 1 ? xt[1] - xt[0] : 1.0);
    text(img, s, {x - text_size(s, 0.5).width / 2, area.y + area.height + 24}, 0.5, kBlack);
  }
  for (double t : yt) {
    const int y = py(t);
    cv::line(img, {area.x, y}, {area.x + area.width, y}, kGrid, 1);
    cv::line(img, {area.x - 6, y}, {area.x, y}, kBlack, 1);
    const std::string s = tick_text(t, yt.size() > 1 ? yt[1] - yt[0] : 1.0);
    const cv::Size sz = text_size(s, 0.5);
    text(img, s, {area.x - 12 - sz.width, y + sz.height / 2}, 0.5, kBlack);
  }
  cv::rectangle(img, area, kBlack, 1);

  // Title, x label, and the y label rotated a quarter turn.
  const cv::Size ts = text_size(plot.title, 0.75, 2);
  text(img, plot.title, {area.x + (area.width - ts.width) / 2, 40}, 0.75, kBlack, 2);
  const cv::Size xs = text_size(plot.x_label, 0.6);
  text(img, plot.x_label, {area.x + (area.width - xs.width) / 2, img.rows - 25}, 0.6, kBlack);
  const cv::Size ys = text_size(plot.y_label, 0.6);
  cv::Mat label(ys.height + 10, ys.width + 4, CV_8UC3, kWhite);
  text(label, plot.y_label, {2, ys.height + 3}, 0.6, kBlack);
  cv::Mat rotated;
  cv::rotate(label, rotated, cv::ROTATE_90_COUNTERCLOCKWISE);
  const int ly = std::max(0, area.y + (area.height - rotated.rows) / 2);
  if (ly + rotated.rows <= img.rows) rotated.copyTo(img(cv::Rect(12, ly, rotated.cols, rotated.rows)));

  // Series: reference levels first (under the lines), then lines, markers and point labels.
  int shape = 0;
  std::vector<int> shapes;
  std::vector<cv::Rect> placed;  // point labels placed so far
  struct PointLabel {
    std::string text;
    cv::Point at;
    cv::Scalar colour;
  };
  std::vector<PointLabel> labels;  // drawn after every line and marker, so none is drawn over
  for (size_t k = 0; k < plot.series.size(); ++k) shapes.push_back(plot.series[k].reference ? 5 : shape++);
  for (size_t k = 0; k < plot.series.size(); ++k) {
    const PlotSeries& s = plot.series[k];
    const cv::Scalar colour = s.reference ? kBlack : kColours[k % kColourCount];
    std::vector<size_t> order(s.x.size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return s.x[a] < s.x[b]; });
    if (s.reference) {
      for (size_t i : order) dashed_line(img, {area.x + 1, py(s.y[i])}, {area.x + area.width - 1, py(s.y[i])}, cv::Scalar(120, 120, 120));
    }
    for (size_t j = 1; j < order.size(); ++j) {
      cv::line(img, {px(s.x[order[j - 1]]), py(s.y[order[j - 1]])}, {px(s.x[order[j]]), py(s.y[order[j]])}, colour, 2,
               cv::LINE_AA);
    }
    for (size_t i : order) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      marker(img, {px(s.x[i]), py(s.y[i])}, shapes[k], colour);
      if (!s.point_labels.empty()) {
        const std::string& pl = s.point_labels[i];
        const cv::Size sz = text_size(pl, 0.42);
        // Above right of the marker, else below right, above left, below left: the first place no
        // earlier label holds. A label with no free place is left out rather than drawn over another.
        const cv::Point c{px(s.x[i]), py(s.y[i])};
        const cv::Point offsets[] = {{9, -9}, {9, 9 + sz.height}, {-9 - sz.width, -9}, {-9 - sz.width, 9 + sz.height}};
        for (const cv::Point& o : offsets) {
          const int x = std::clamp(c.x + o.x, area.x + 2, area.x + area.width - sz.width - 2);
          const int y = std::clamp(c.y + o.y, area.y + sz.height + 2, area.y + area.height - 2);
          const cv::Rect box(x - 1, y - sz.height - 1, sz.width + 2, sz.height + 4);
          if (std::any_of(placed.begin(), placed.end(), [&](const cv::Rect& r) { return (r & box).area() > 0; })) continue;
          placed.push_back(box);
          labels.push_back({pl, {x, y}, colour * 0.8});
          break;
        }
      }
    }
  }

  for (const PointLabel& l : labels) text(img, l.text, l.at, 0.42, l.colour);

  // Legend beside the plot.
  const int lx = area.x + area.width + 20;
  int ly2 = area.y + 10;
  cv::rectangle(img, {lx - 8, ly2 - 8}, {img.cols - 10, ly2 + 28 * static_cast<int>(plot.series.size()) + 2},
                cv::Scalar(200, 200, 200), 1);
  for (size_t k = 0; k < plot.series.size(); ++k) {
    const PlotSeries& s = plot.series[k];
    const cv::Scalar colour = s.reference ? kBlack : kColours[k % kColourCount];
    const int cy = ly2 + 10 + 28 * static_cast<int>(k);
    if (s.reference) {
      dashed_line(img, {lx, cy}, {lx + 36, cy}, cv::Scalar(120, 120, 120));
    } else {
      cv::line(img, {lx, cy}, {lx + 36, cy}, colour, 2, cv::LINE_AA);
    }
    marker(img, {lx + 18, cy}, shapes[k], colour);
    text(img, s.label, {lx + 48, cy + 6}, 0.55, kBlack);
  }
  if (!cv::imwrite(path, img)) throw Error(fmt::format("{}: cannot write the PNG", path));
}

}  // namespace pb
