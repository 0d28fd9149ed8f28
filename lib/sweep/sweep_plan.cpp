#include "sweep/sweep_plan.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <map>
#include <set>

#include "core/error.h"
#include "core/hash.h"
#include "io/json_file.h"

namespace pb {

namespace {

// One value of an axis: its name (what include/exclude and folder names use) and its settings.
struct AxisValue {
  std::string name;
  nlohmann::json body;  // models: {path, random_weights, seed, tokenizer}; datasets: {spec};
                        // pruners: {spec, budgets?}; budgets: {budget}
};

void check_keys(const nlohmann::json& obj, const std::set<std::string>& known, const std::string& where) {
  for (const auto& item : obj.items()) {
    if (known.count(item.key()) == 0) {
      std::string list;
      for (const std::string& k : known) list += (list.empty() ? "" : ", ") + k;
      throw Error(fmt::format("{}: unknown key '{}' (known: {})", where, item.key(), list));
    }
  }
}

std::string string_member(const nlohmann::json& obj, const char* key, const std::string& where, bool required) {
  if (!obj.contains(key)) {
    if (required) throw Error(fmt::format("{}: missing \"{}\"", where, key));
    return "";
  }
  if (!obj[key].is_string()) throw Error(fmt::format("{}: \"{}\" must be a string", where, key));
  return obj[key].get<std::string>();
}

// Reads one axis. A string entry is shorthand: for models the path, datasets the spec, pruners the
// spec, budgets the budget text; its name is the string itself (budget "" is named "default").
std::vector<AxisValue> read_axis(const nlohmann::json& config, const std::string& axis, const std::string& source) {
  const std::string where = fmt::format("{}: \"{}\"", source, axis);
  if (!config.contains(axis)) {
    if (axis == "budgets") return {{"default", {{"budget", ""}}}};  // every method's paper default
    throw Error(fmt::format("{}: missing \"{}\"", source, axis));
  }
  const nlohmann::json& list = config[axis];
  if (!list.is_array() || list.empty()) throw Error(where + " must be a non-empty list");
  static const std::map<std::string, std::pair<std::string, std::set<std::string>>> fields = {
      {"models", {"path", {"name", "path", "random_weights", "seed", "tokenizer"}}},
      {"datasets", {"spec", {"name", "spec"}}},
      {"pruners", {"spec", {"name", "spec", "budgets"}}},
      {"budgets", {"budget", {"name", "budget"}}},
  };
  const auto& [main_key, known] = fields.at(axis);
  std::vector<AxisValue> out;
  std::set<std::string> names;
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string item_where = fmt::format("{}[{}]", where, i);
    AxisValue v;
    if (list[i].is_string()) {
      v.body = {{main_key, list[i]}};
    } else if (list[i].is_object()) {
      v.body = list[i];
      check_keys(v.body, known, item_where);
    } else {
      throw Error(item_where + " must be a string or an object");
    }
    const std::string main = string_member(v.body, main_key.c_str(), item_where, axis != "budgets");
    v.name = v.body.contains("name") ? string_member(v.body, "name", item_where, true) : main;
    if (v.name.empty()) v.name = axis == "budgets" ? "default" : "";
    if (v.name.empty()) throw Error(item_where + ": empty name");
    if (!names.insert(v.name).second) throw Error(fmt::format("{}: name '{}' used twice", item_where, v.name));
    out.push_back(std::move(v));
  }
  return out;
}

// Folder-safe form of a label: letters, digits, '.', '=', '+' and '-' kept; anything else -> '-'.
std::string sanitise(const std::string& s) {
  std::string out;
  for (char c : s) {
    const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                      c == '=' || c == '+' || c == '-';
    out += keep ? c : '-';
  }
  return out;
}

template <typename T>
T number_member(const nlohmann::json& obj, const char* key, const std::string& where, T fallback) {
  if (!obj.contains(key)) return fallback;
  if (!obj[key].is_number_integer() || obj[key].get<int64_t>() < 0) {
    throw Error(fmt::format("{}: \"{}\" must be a non-negative integer", where, key));
  }
  return obj[key].get<T>();
}

// The run options shared by every point ("run" block), as `run`'s flags of the same names.
RunOptions read_defaults(const nlohmann::json& config, const std::string& source) {
  RunOptions o;
  if (!config.contains("run")) return o;
  const std::string where = source + ": \"run\"";
  const nlohmann::json& r = config["run"];
  if (!r.is_object()) throw Error(where + " must be an object");
  check_keys(r, {"protocol", "limit", "subset", "subset_seed", "max_new_tokens", "dtype", "device", "threads",
                 "fail_fast"},
             where);
  if (r.contains("protocol")) o.protocol = string_member(r, "protocol", where, true);
  if (r.contains("dtype")) o.dtype = string_member(r, "dtype", where, true);
  if (r.contains("device")) o.device = string_member(r, "device", where, true);
  o.limit = number_member<int64_t>(r, "limit", where, 0);
  o.subset = number_member<int64_t>(r, "subset", where, 0);
  o.subset_seed = number_member<uint64_t>(r, "subset_seed", where, 0);
  o.max_new_tokens = number_member<int64_t>(r, "max_new_tokens", where, 0);
  o.threads = number_member<int>(r, "threads", where, 0);
  if (r.contains("fail_fast")) {
    if (!r["fail_fast"].is_boolean()) throw Error(where + ": \"fail_fast\" must be true or false");
    o.fail_fast = r["fail_fast"].get<bool>();
  }
  return o;
}

// Axis index tuples: zip groups advance together, everything else is a product. Outer loops are
// in kSweepAxes order (models outermost), so points of one model come out consecutive.
std::vector<std::array<size_t, 4>> combine(const nlohmann::json& config, const std::array<size_t, 4>& sizes,
                                           const std::string& source) {
  std::array<int, 4> group{0, 1, 2, 3};  // axis -> its group (the lowest axis index in it)
  if (config.contains("zip")) {
    const std::string where = source + ": \"zip\"";
    if (!config["zip"].is_array()) throw Error(where + " must be a list of lists of axis names");
    std::set<int> used;
    for (const auto& g : config["zip"]) {
      if (!g.is_array() || g.size() < 2) throw Error(where + ": each group must list at least two axes");
      std::vector<int> members;
      for (const auto& name : g) {
        int axis = -1;
        for (int a = 0; a < 4; ++a) {
          if (name.is_string() && name.get<std::string>() == kSweepAxes[a]) axis = a;
        }
        if (axis < 0) throw Error(fmt::format("{}: '{}' is not an axis (models, datasets, pruners, budgets)", where, name.dump()));
        if (!used.insert(axis).second) throw Error(fmt::format("{}: axis {} is zipped twice", where, kSweepAxes[axis]));
        members.push_back(axis);
      }
      const int lead = *std::min_element(members.begin(), members.end());
      for (int a : members) {
        if (sizes[a] != sizes[lead]) {
          throw Error(fmt::format("{}: cannot zip {} ({} values) with {} ({} values)", where, kSweepAxes[lead],
                                  sizes[lead], kSweepAxes[a], sizes[a]));
        }
        group[a] = lead;
      }
    }
  }
  std::vector<int> leads;
  for (int a = 0; a < 4; ++a) {
    if (group[a] == a) leads.push_back(a);
  }
  std::vector<std::array<size_t, 4>> out;
  std::vector<size_t> counter(leads.size(), 0);
  while (true) {
    std::array<size_t, 4> t{};
    for (int a = 0; a < 4; ++a) {
      const size_t g = static_cast<size_t>(std::find(leads.begin(), leads.end(), group[a]) - leads.begin());
      t[a] = counter[g];
    }
    out.push_back(t);
    size_t k = leads.size();
    while (k > 0) {  // odometer, last lead fastest
      --k;
      if (++counter[k] < sizes[leads[k]]) break;
      counter[k] = 0;
      if (k == 0) return out;
    }
  }
}

// Does `filter` ({"pruner": "fastv", ...}) match the point's labels? Every key given must be equal.
bool matches(const nlohmann::json& filter, const nlohmann::json& labels) {
  for (const auto& item : filter.items()) {
    if (labels.value(item.key(), std::string()) != item.value().get<std::string>()) return false;
  }
  return true;
}

void check_filter(const nlohmann::json& f, const std::string& where, bool complete) {
  if (!f.is_object() || f.empty()) throw Error(where + " must be an object such as {\"pruner\": \"fastv\"}");
  check_keys(f, {"model", "dataset", "pruner", "budget"}, where);
  for (const auto& item : f.items()) {
    if (!item.value().is_string()) throw Error(fmt::format("{}: \"{}\" must be a name (string)", where, item.key()));
  }
  if (complete) {
    for (const char* k : {"model", "dataset", "pruner"}) {
      if (!f.contains(k)) throw Error(fmt::format("{}: an include entry names every axis; \"{}\" is missing", where, k));
    }
  }
}

}  // namespace

SweepPlan expand_sweep(const nlohmann::json& config, const std::string& source) {
  if (!config.is_object()) throw Error(source + ": a sweep configuration is a JSON object");
  check_keys(config, {"name", "description", "run", "models", "datasets", "pruners", "budgets", "zip", "include",
                      "exclude"},
             source);
  SweepPlan plan;
  plan.name = string_member(config, "name", source, true);
  if (plan.name.empty() || sanitise(plan.name) != plan.name) {
    throw Error(fmt::format("{}: name '{}' must be non-empty letters, digits, '.', '=', '+', '-'", source, plan.name));
  }
  const RunOptions defaults = read_defaults(config, source);
  std::array<std::vector<AxisValue>, 4> axes;
  std::array<size_t, 4> sizes{};
  for (int a = 0; a < 4; ++a) {
    axes[a] = read_axis(config, kSweepAxes[a], source);
    sizes[a] = axes[a].size();
  }
  // A pruner's own "budgets" list replaces the budget axis for it (e.g. "none" runs once).
  std::vector<std::vector<AxisValue>> pruner_budgets(axes[2].size());
  for (size_t p = 0; p < axes[2].size(); ++p) {
    const nlohmann::json& body = axes[2][p].body;
    if (!body.contains("budgets")) continue;
    const std::string where = fmt::format("{}: \"pruners\"[{}] \"budgets\"", source, p);
    if (config.contains("zip")) {
      for (const auto& g : config["zip"]) {
        for (const auto& n : g) {
          if (n == "pruners" || n == "budgets") throw Error(where + ": not allowed when pruners or budgets are zipped");
        }
      }
    }
    pruner_budgets[p] = read_axis(nlohmann::json{{"budgets", body["budgets"]}}, "budgets", where);
  }

  auto make_point = [&](size_t m, size_t d, size_t p, const AxisValue& budget) {
    const AxisValue& model = axes[0][m];
    const AxisValue& data = axes[1][d];
    const AxisValue& pruner = axes[2][p];
    SweepPoint pt;
    pt.labels = {{"model", model.name}, {"dataset", data.name}, {"pruner", pruner.name}, {"budget", budget.name}};
    // '_' only between labels (sanitise never leaves one inside), so the folder name reads back.
    pt.id = fmt::format("{}_{}_{}_{}", sanitise(model.name), sanitise(data.name), sanitise(pruner.name),
                        sanitise(budget.name));
    RunOptions& o = pt.options;
    o = defaults;
    const std::string mw = fmt::format("{}: model '{}'", source, model.name);
    o.model = string_member(model.body, "path", mw, true);
    o.tokenizer = string_member(model.body, "tokenizer", mw, false);
    if (model.body.contains("random_weights")) {
      if (!model.body["random_weights"].is_boolean()) throw Error(mw + ": \"random_weights\" must be true or false");
      o.random_weights = model.body["random_weights"].get<bool>();
    }
    o.weights_seed = number_member<uint64_t>(model.body, "seed", mw, 0);
    o.dataset = string_member(data.body, "spec", fmt::format("{}: dataset '{}'", source, data.name), true);
    o.pruner = string_member(pruner.body, "spec", fmt::format("{}: pruner '{}'", source, pruner.name), true);
    o.budget = string_member(budget.body, "budget", fmt::format("{}: budget '{}'", source, budget.name), false);
    return pt;
  };

  std::vector<SweepPoint> points;
  for (const auto& t : combine(config, sizes, source)) {
    if (!pruner_budgets[t[2]].empty()) {
      if (t[3] != 0) continue;  // the pruner's own list replaces the budget axis: emit it once
      for (const AxisValue& b : pruner_budgets[t[2]]) points.push_back(make_point(t[0], t[1], t[2], b));
    } else {
      points.push_back(make_point(t[0], t[1], t[2], axes[3][t[3]]));
    }
  }
  if (config.contains("exclude")) {
    const nlohmann::json& ex = config["exclude"];
    if (!ex.is_array()) throw Error(source + ": \"exclude\" must be a list");
    for (size_t i = 0; i < ex.size(); ++i) check_filter(ex[i], fmt::format("{}: \"exclude\"[{}]", source, i), false);
    points.erase(std::remove_if(points.begin(), points.end(),
                                [&](const SweepPoint& pt) {
                                  return std::any_of(ex.begin(), ex.end(),
                                                     [&](const nlohmann::json& f) { return matches(f, pt.labels); });
                                }),
                 points.end());
  }
  if (config.contains("include")) {
    const nlohmann::json& in = config["include"];
    if (!in.is_array()) throw Error(source + ": \"include\" must be a list");
    for (size_t i = 0; i < in.size(); ++i) {
      const std::string where = fmt::format("{}: \"include\"[{}]", source, i);
      check_filter(in[i], where, true);
      auto find = [&](const std::vector<AxisValue>& values, const std::string& name, const char* what) {
        for (size_t k = 0; k < values.size(); ++k) {
          if (values[k].name == name) return k;
        }
        throw Error(fmt::format("{}: no {} named '{}'", where, what, name));
      };
      const size_t m = find(axes[0], in[i]["model"], "model");
      const size_t d = find(axes[1], in[i]["dataset"], "dataset");
      const size_t p = find(axes[2], in[i]["pruner"], "pruner");
      // The budget: a name from the axis (or the pruner's list), else the text itself ("tokens:32").
      AxisValue budget{"default", {{"budget", ""}}};
      if (in[i].contains("budget")) {
        const std::string b = in[i]["budget"];
        budget = {b, {{"budget", b == "default" ? "" : b}}};
        for (const auto* list : {&axes[3], &pruner_budgets[p]}) {
          for (const AxisValue& v : *list) {
            if (v.name == b) budget = v;
          }
        }
      }
      points.push_back(make_point(m, d, p, budget));
    }
  }
  // Model order (stable): each model's points are consecutive, so a sweep loads every model once.
  std::map<std::string, size_t> model_rank;
  for (size_t m = 0; m < axes[0].size(); ++m) model_rank[axes[0][m].name] = m;
  std::stable_sort(points.begin(), points.end(), [&](const SweepPoint& a, const SweepPoint& b) {
    return model_rank[a.labels.at("model").get<std::string>()] < model_rank[b.labels.at("model").get<std::string>()];
  });
  std::set<std::string> ids;
  for (SweepPoint& pt : points) {
    if (ids.count(pt.id) != 0) {
      // An include that repeats a grid point is dropped; two different points with one id are an error.
      const auto first = std::find_if(plan.points.begin(), plan.points.end(),
                                      [&](const SweepPoint& q) { return q.id == pt.id; });
      if (point_to_json(*first) == point_to_json(pt)) continue;
      throw Error(fmt::format("{}: two different points share the folder name '{}'; rename one", source, pt.id));
    }
    ids.insert(pt.id);
    plan.points.push_back(std::move(pt));
  }
  if (plan.points.empty()) throw Error(source + ": the sweep has no points (everything excluded?)");
  nlohmann::json all = nlohmann::json::array();
  for (const SweepPoint& pt : plan.points) all.push_back(point_to_json(pt));
  plan.hash = hex16(fnv1a64("sweep-plan-v1" + all.dump()));
  return plan;
}

SweepPlan load_sweep(const std::string& path) { return expand_sweep(read_json_file(path), path); }

nlohmann::json point_to_json(const SweepPoint& pt) {
  const RunOptions& o = pt.options;
  return {{"id", pt.id},
          {"labels", pt.labels},
          {"run",
           {{"model", o.model}, {"random_weights", o.random_weights}, {"seed", o.weights_seed},
            {"tokenizer", o.tokenizer}, {"dataset", o.dataset}, {"pruner", o.pruner}, {"budget", o.budget},
            {"protocol", o.protocol}, {"limit", o.limit}, {"subset", o.subset}, {"subset_seed", o.subset_seed},
            {"max_new_tokens", o.max_new_tokens}, {"dtype", o.dtype}, {"device", o.device}}}};
}

std::vector<SweepPoint> shard_points(const std::vector<SweepPoint>& points, int index, int count) {
  const size_t n = points.size();
  const size_t chunk = (n + static_cast<size_t>(count) - 1) / static_cast<size_t>(count);
  const size_t begin = std::min(n, chunk * static_cast<size_t>(index));
  const size_t end = std::min(n, begin + chunk);
  return {points.begin() + static_cast<std::ptrdiff_t>(begin), points.begin() + static_cast<std::ptrdiff_t>(end)};
}

}  // namespace pb
