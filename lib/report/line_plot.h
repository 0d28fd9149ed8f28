// A small line-plot renderer on OpenCV (no plotting library in Debian's C++ stack): axes with
// "nice" ticks, grid, title, axis labels, one coloured line + marker shape per series, optional
// per-point labels, a legend beside the plot, and reference series drawn as a dashed level line.
#pragma once

#include <string>
#include <vector>

namespace pb {

struct PlotSeries {
  std::string label;
  std::vector<double> x, y;               // same length; drawn in increasing x
  std::vector<std::string> point_labels;  // empty, or one short label per point
  bool reference = false;                 // a level to beat: marker plus a dashed line across the plot
};

struct LinePlot {
  std::string title, x_label, y_label;
  std::vector<PlotSeries> series;
  int width = 1200, height = 760;
};

// Renders and writes a PNG; pb::Error naming the file when it cannot be written or nothing is finite.
void write_line_plot_png(const LinePlot& plot, const std::string& path);

// "Nice" tick positions covering [lo, hi]: about `target` steps of 1, 2, 2.5 or 5 x 10^k
// (Heckbert, "Nice numbers for graph labels", Graphics Gems, 1990). Exposed for tests.
std::vector<double> nice_ticks(double lo, double hi, int target = 6);

}  // namespace pb
