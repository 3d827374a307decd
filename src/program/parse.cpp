// Strict reading of program files: every error names file:line, the key (or the op) and
// what was expected; unknown keys, names and ops are errors, never ignored.

#include <algorithm>
#include <sstream>

#include "program/program.h"
#include "workload/config.h"
#include "workload/input_file.h"
#include "workload/toml_input.h"
#include "workload/units.h"

namespace sd::program {

namespace {

using workload::input_error;

constexpr std::string_view k_ops_help =
    "enter P, switch P, exit, idle, user [TIME], kthread_use_mm P, kthread_unuse_mm, mmap OFF LEN, "
    "mmap_hugetlb FILE OFF LEN [PGOFF], munmap OFF LEN, touch OFF [PAGES] [read|write], "
    "mprotect OFF LEN none|rw, madvise_dontneed OFF LEN, fork CHILD, "
    "gup_fast OFF [PAGES] [read|write], collapse P OFF, uffd_move DST SRC LEN, signal LABEL, "
    "wait LABEL";

std::vector<std::string> words(std::string_view s) {
  std::vector<std::string> w;
  std::istringstream in{std::string(s)};
  for (std::string t; in >> t;) w.push_back(t);
  return w;
}

std::vector<std::string> string_list(const toml::node& v, const std::string& where) {
  const toml::array* arr = v.as_array();
  if (!arr) throw input_error(where + ": expected a list of names, e.g. [\"p\"]");
  std::vector<std::string> out;
  for (const auto& e : *arr) {
    if (!e.is_string()) throw input_error(where + ": expected names (strings)");
    const std::string name = *e.value<std::string>();
    if (name.empty() || std::find(out.begin(), out.end(), name) != out.end())
      throw input_error(where + ": empty or repeated name '" + name + "'");
    out.push_back(name);
  }
  return out;
}

// Reads one op; `labels` collects label names as they appear.
class op_reader {
 public:
  op_reader(const program& p, std::vector<std::string>& labels) : p_(p), labels_(labels) {}

  op read(const std::string& text, const std::string& origin) {
    origin_ = origin;
    w_ = words(text);
    if (w_.empty()) fail("empty op (known: " + std::string(k_ops_help) + ")");
    op o{};
    o.text = text;
    o.origin = origin;
    const std::string& name = w_[0];
    if (name == "enter" || name == "kthread_use_mm") {
      o.kind = name == "enter" ? op_kind::enter : op_kind::kthread_use_mm;
      arity(2, 2, name + " PROCESS");
      o.process = process(w_[1]);
    } else if (name == "switch") {
      o.kind = op_kind::switch_to;
      arity(2, 2, "switch PROCESS");
      o.process = process(w_[1]);
    } else if (name == "user") {
      o.kind = op_kind::user;
      arity(1, 2, "user [TIME]");
      if (w_.size() == 2) {
        try {
          o.ns = workload::parse_time_ns(w_[1]);
        } catch (const std::invalid_argument& e) {
          fail(std::string("user TIME: ") + e.what());
        }
        if (o.ns <= 0 || o.ns > 1'000'000'000) fail("user TIME must be from 1ns to 1s");
      }
    } else if (name == "exit" || name == "idle" || name == "kthread_unuse_mm") {
      o.kind = name == "exit"   ? op_kind::exit
               : name == "idle" ? op_kind::idle
                                : op_kind::kthread_unuse_mm;
      arity(1, 1, name);
    } else if (name == "mmap" || name == "munmap" || name == "madvise_dontneed") {
      o.kind = name == "mmap"     ? op_kind::mmap
               : name == "munmap" ? op_kind::munmap
                                  : op_kind::madvise_dontneed;
      arity(3, 3, name + " OFF LEN");
      o.a = offset(w_[1], mm::PAGE_SIZE);
      o.b = length(w_[2], mm::PAGE_SIZE);
    } else if (name == "mmap_hugetlb") {
      o.kind = op_kind::mmap_hugetlb;
      arity(4, 5, "mmap_hugetlb FILE OFF LEN [PGOFF]");
      o.file = file(w_[1]);
      o.a = offset(w_[2], mm::PMD_SIZE);
      o.b = length(w_[3], mm::PMD_SIZE);
      o.c = w_.size() == 5 ? size(w_[4], mm::PMD_SIZE, "PGOFF") : 0;
    } else if (name == "touch" || name == "gup_fast") {
      o.kind = name == "touch" ? op_kind::touch : op_kind::gup_fast;
      arity(2, 4, name + " OFF [PAGES] [read|write]");
      o.write = o.kind == op_kind::touch;  // a store by default; GUP without FOLL_WRITE
      o.a = offset(w_[1], mm::PAGE_SIZE);
      for (std::size_t i = 2; i < w_.size(); ++i) {
        if (w_[i] == "read" || w_[i] == "write") {
          o.write = w_[i] == "write";
        } else {
          const auto n = count(w_[i]);
          if (n < 1 || n > 512) fail("PAGES must be 1 to 512, got '" + w_[i] + "'");
          o.pages = static_cast<unsigned>(n);
        }
      }
    } else if (name == "mprotect") {
      o.kind = op_kind::mprotect;
      arity(4, 4, "mprotect OFF LEN none|rw");
      o.a = offset(w_[1], mm::PAGE_SIZE);
      o.b = length(w_[2], mm::PAGE_SIZE);
      if (w_[3] != "none" && w_[3] != "rw") fail("protection must be none or rw");
      o.prot_none = w_[3] == "none";
    } else if (name == "fork") {
      o.kind = op_kind::fork;
      arity(2, 2, "fork CHILD");
      o.process = process(w_[1]);
    } else if (name == "collapse") {
      o.kind = op_kind::collapse;
      arity(3, 3, "collapse PROCESS OFF");
      o.process = process(w_[1]);
      o.a = offset(w_[2], mm::PMD_SIZE);
    } else if (name == "uffd_move") {
      o.kind = op_kind::uffd_move;
      arity(4, 4, "uffd_move DST SRC LEN");
      o.a = offset(w_[1], mm::PAGE_SIZE);
      o.b = offset(w_[2], mm::PAGE_SIZE);
      o.c = length(w_[3], mm::PAGE_SIZE);
    } else if (name == "signal" || name == "wait") {
      o.kind = name == "signal" ? op_kind::signal : op_kind::wait;
      arity(2, 2, name + " LABEL");
      auto it = std::find(labels_.begin(), labels_.end(), w_[1]);
      if (it == labels_.end()) it = labels_.insert(labels_.end(), w_[1]);
      o.label = static_cast<int>(it - labels_.begin());
    } else {
      fail("unknown op '" + name + "' (known: " + std::string(k_ops_help) + ")");
    }
    return o;
  }

 private:
  [[noreturn]] void fail(const std::string& why) const { throw input_error(origin_ + ": " + why); }
  void arity(std::size_t lo, std::size_t hi, const std::string& usage) const {
    if (w_.size() < lo || w_.size() > hi) fail("expected '" + usage + "'");
  }
  int process(const std::string& n) const {
    auto it = std::find(p_.processes.begin(), p_.processes.end(), n);
    if (it == p_.processes.end()) fail("unknown process '" + n + "' (declare it in processes)");
    return static_cast<int>(it - p_.processes.begin());
  }
  int file(const std::string& n) const {
    auto it = std::find(p_.files.begin(), p_.files.end(), n);
    if (it == p_.files.end()) fail("unknown file '" + n + "' (declare it in files)");
    return static_cast<int>(it - p_.files.begin());
  }
  std::int64_t count(const std::string& s) const {
    try {
      return workload::parse_count(s);
    } catch (const std::invalid_argument& e) {
      fail(e.what());
    }
  }
  mm::va_t size(const std::string& s, mm::va_t align, const char* what) const {
    std::int64_t v = 0;
    try {
      v = workload::parse_size(s);
    } catch (const std::invalid_argument& e) {
      fail(std::string(what) + ": " + e.what());
    }
    if (v > (std::int64_t{1} << 40))
      fail(std::string(what) + " '" + s + "' is past the program's 1 TiB window");
    if (static_cast<mm::va_t>(v) % align)
      fail(std::string(what) + " '" + s + "' is not a multiple of " +
           workload::format_size(static_cast<std::int64_t>(align)));
    return static_cast<mm::va_t>(v);
  }
  mm::va_t offset(const std::string& s, mm::va_t align) const {
    return k_program_base + size(s, align, "OFF");
  }
  mm::va_t length(const std::string& s, mm::va_t align) const {
    const mm::va_t v = size(s, align, "LEN");
    if (v == 0) fail("LEN must not be 0");
    return v;
  }

  const program& p_;
  std::vector<std::string>& labels_;
  std::string origin_;
  std::vector<std::string> w_;
};

void read_cpu(cpu_program& cpu, const std::string& name, const toml::table& t,
              const std::string& path, op_reader& reader) {
  for (const auto& [k, v] : t) {
    const std::string key(k.str());
    const std::string where = workload::toml_where(path, v, name + " " + key);
    if (key == "nohz_full" || key == "perf_nmi") {
      if (!v.is_boolean()) throw input_error(where + ": expected true or false");
      (key == "nohz_full" ? cpu.nohz_full : cpu.perf_nmi) = *v.value<bool>();
    } else if (key == "ops") {
      const toml::array* arr = v.as_array();
      if (!arr) throw input_error(where + ": expected a list of ops, e.g. [\"enter p\"]");
      for (std::size_t i = 0; i < arr->size(); ++i) {
        const toml::node& e = *arr->get(i);
        const std::string origin =
            workload::toml_where(path, e, name + " ops[" + std::to_string(i) + "]");
        if (!e.is_string()) throw input_error(origin + ": expected an op as a string");
        cpu.ops.push_back(reader.read(*e.value<std::string>(), origin));
      }
    } else {
      throw input_error(where + ": unknown key (known: ops, nohz_full, perf_nmi)");
    }
  }
}

// `switch P` resumes a thread of P that an `enter P` started on the same CPU and that has not
// exited since, and that is not the one running: a CPU's threads, in the order of its ops.
void check_threads(const cpu_program& c, const program& p) {
  std::vector<int> alive(p.processes.size(), 0);
  int current = -1;
  for (const auto& o : c.ops) {
    if (o.kind == op_kind::enter) {
      ++alive[static_cast<std::size_t>(o.process)];
      current = o.process;
    } else if (o.kind == op_kind::switch_to) {
      const int others =
          alive[static_cast<std::size_t>(o.process)] - (current == o.process ? 1 : 0);
      if (others < 1)
        throw input_error(o.origin + ": no other thread of '" + p.processes[o.process] +
                          "' on this CPU to switch back to ('enter " + p.processes[o.process] +
                          "' starts one)");
      current = o.process;
    } else if (o.kind == op_kind::exit && current >= 0) {
      --alive[static_cast<std::size_t>(current)];
      current = -1;
    }
  }
}

// Checks across CPUs: every waited label is signalled, every process is entered or
// forked before it is used, and collects the addresses speculative walks may target.
void validate(program& p, const std::string& path) {
  std::vector<bool> signalled(p.labels.size(), false);
  for (const auto& c : p.cpus)
    for (const auto& o : c.ops)
      if (o.kind == op_kind::signal) signalled[static_cast<std::size_t>(o.label)] = true;
  for (const auto& o : p.extra.ops)
    if (o.kind == op_kind::signal)
      throw input_error(o.origin + ": [extra] CPUs may wait but not signal (there may be none)");
  std::vector<const cpu_program*> all;
  for (const auto& c : p.cpus) all.push_back(&c);
  all.push_back(&p.extra);
  for (const cpu_program* c : all)
    for (const auto& o : c->ops) {
      if (o.kind == op_kind::wait && !signalled[static_cast<std::size_t>(o.label)])
        throw input_error(o.origin + ": no CPU signals '" + p.labels[o.label] +
                          "', so this wait never ends");
      if (o.kind == op_kind::touch || o.kind == op_kind::gup_fast) {
        if (std::find(p.addresses.begin(), p.addresses.end(), o.a) == p.addresses.end())
          p.addresses.push_back(o.a);
      }
    }
  if (p.cpus.empty()) throw input_error(path + ": no [cpu.N] table: a program needs a CPU");
  for (const cpu_program* c : all) check_threads(*c, p);
}

}  // namespace

program parse_program(const std::string& text, const std::string& path) {
  const toml::table root = workload::parse_toml(text, path);
  program p;
  p.name = path;
  p.source = path;
  // Declarations first, so ops can refer to them wherever the tables stand.
  for (const auto& [k, v] : root) {
    const std::string key(k.str());
    const std::string where = workload::toml_where(path, v, key);
    if (key == "description") {
      if (!v.is_string()) throw input_error(where + ": expected a string");
      p.description = *v.value<std::string>();
    } else if (key == "processes") {
      p.processes = string_list(v, where);
    } else if (key == "files") {
      p.files = string_list(v, where);
    } else if (key != "cpu" && key != "extra") {
      throw input_error(where +
                        ": unknown key (known: description, processes, files, [cpu.N], [extra])");
    }
  }
  if (p.description.empty())
    throw input_error(path + ": missing key 'description' (what the program exercises)");
  const toml::node* cpus = root.get("cpu");
  if (!cpus || !cpus->is_table())
    throw input_error(path + ": missing [cpu.0] (each CPU's ops are in a [cpu.N] table)");
  const toml::table& ct = *cpus->as_table();
  p.cpus.resize(ct.size());
  std::vector<bool> seen(ct.size(), false);
  op_reader reader(p, p.labels);
  for (const auto& [k, v] : ct) {
    const std::string key(k.str());
    const std::string where = workload::toml_where(path, v, "[cpu." + key + "]");
    std::int64_t id = -1;
    try {
      id = workload::parse_count(key);
    } catch (const std::invalid_argument&) {
    }
    if (id < 0 || id >= static_cast<std::int64_t>(ct.size()) || !v.is_table())
      throw input_error(where + ": CPU tables are [cpu.0] .. [cpu." +
                        std::to_string(ct.size() - 1) + "], one per CPU, without gaps");
    seen[static_cast<std::size_t>(id)] = true;
    read_cpu(p.cpus[static_cast<std::size_t>(id)], "[cpu." + key + "]", *v.as_table(), path,
             reader);
  }
  if (const toml::node* extra = root.get("extra")) {
    if (!extra->is_table())
      throw input_error(workload::toml_where(path, *extra, "extra") + ": expected a table");
    read_cpu(p.extra, "[extra]", *extra->as_table(), path, reader);
  }
  validate(p, path);
  return p;
}

program load_program(const std::string& name_or_file) {
  for (const auto& s : shipped_programs())
    if (s.name == name_or_file) {
      program p = parse_program(std::string(s.text), "programs/" + std::string(s.name) + ".toml");
      p.name = std::string(s.name);
      p.source = "built-in";
      return p;
    }
  const auto text = workload::read_input_file(name_or_file, "program");
  if (!text) {
    std::string known;
    for (const auto& s : shipped_programs())
      known += (known.empty() ? "" : ", ") + std::string(s.name);
    throw input_error("unknown program '" + name_or_file + "': not a shipped program (" + known +
                      ") and no such file");
  }
  return parse_program(*text, name_or_file);
}

}  // namespace sd::program
