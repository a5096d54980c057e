// The netlab(1) man page in roff, one section per subcommand.
#include <fmt/format.h>

#include "core/clidoc/spec.hpp"

namespace netlab::clidoc {
namespace {

// Escapes text for roff: backslashes, hyphens meant as minus signs, and control characters
// at the start of a line.
std::string roff(const std::string& text) {
  std::string out;
  bool line_start = true;
  for (char c : text) {
    if (line_start && (c == '.' || c == '\'')) {
      out += "\\&";
    }
    switch (c) {
    case '\\':
      out += "\\e";
      break;
    case '-':
      out += "\\-";
      break;
    default:
      out += c;
    }
    line_start = c == '\n';
  }
  return out;
}

std::string option_entry(const OptionSpec& option) {
  std::string names;
  for (const auto& name : option.names) {
    names += (names.empty() ? "" : ", ") + fmt::format("\\fB{}\\fR", roff(name));
  }
  if (option.positional()) {
    names = fmt::format("\\fI{}\\fR", roff(option.value_name));
  } else if (option.takes_value()) {
    names += fmt::format(" \\fI{}\\fR", roff(option.value_name));
  }
  std::string notes;
  if (option.hint == OptionSpec::Hint::choices) {
    std::string list;
    for (const auto& choice : option.choices) {
      list += (list.empty() ? "" : ", ") + roff(choice);
    }
    notes += " (one of: " + list + ")";
  }
  if (!option.default_value.empty()) {
    notes += " (default: " + roff(option.default_value) + ")";
  }
  // Help that ends in a list (lines indented by two spaces, one item each) gets its notes on a
  // line of their own, as --help shows them, not run on after the last item.
  std::string help = roff(option.help);
  if (!notes.empty() && option.help.find("\n  ") != std::string::npos) {
    help += "\n.br\n" + notes.substr(1);
  } else {
    help += notes;
  }
  return fmt::format(".TP\n{}\n{}\n", names, help);
}

} // namespace

std::string man_page(const ProgramSpec& program) {
  std::string out;
  out += fmt::format(".TH NETLAB 1 \"{}\" \"netlab {}\" \"User Commands\"\n", program.date, roff(program.version));
  out += ".SH NAME\nnetlab \\- " + roff(program.summary) + "\n";
  out += ".SH SYNOPSIS\n.B netlab\n.I COMMAND\n.RI [ OPTIONS ]\n.RI [ ARGUMENTS ]\n"
         ".br\n.B netlab\n.I COMMAND\n.B \\-\\-help\n"
         ".br\n.B netlab help\n.RI [ COMMAND ]\n"
         ".br\n.B netlab\n.RB [ \\-\\-help | \\-\\-version ]\n"
         ".br\n.B netlab\n.RB ( \\-\\-install\\-links | \\-\\-uninstall\\-links )\n.I DIR\n";
  out += ".SH DESCRIPTION\n"
         "netlab is one binary with many network and concurrency tools. Addresses are written "
         "\\fIHOST\\fR:\\fIPORT\\fR, [\\fIIPv6\\fR]:\\fIPORT\\fR, a bare \\fIPORT\\fR (meaning 127.0.0.1) or "
         "unix:\\fI/path\\fR. Servers bind 127.0.0.1 unless told otherwise, accept port 0 and print "
         "\\(lqlistening on ADDR\\(rq on standard error.\n"
         ".PP\nStarted under the name of a command (a symbolic link made by \\fB\\-\\-install\\-links\\fR), "
         "netlab runs that command.\n"
         ".PP\nEvery command takes \\fB\\-h\\fR, \\fB\\-\\-help\\fR, which prints its options and an example "
         "(\\fBnetlab help\\fR \\fICOMMAND\\fR does the same).\n";
  out += ".SH OPTIONS\n";
  for (const auto& option : program.options) {
    out += option_entry(option);
  }
  out += ".SH COMMANDS\n";
  for (const auto& command : program.commands) {
    out += fmt::format(".SS {}\n{}\n", roff(command.name), roff(command.summary));
    if (!command.description.empty() && command.description != command.summary) {
      out += ".PP\n" + roff(command.description) + "\n";
    }
    for (const auto& positional : command.positionals) {
      out += option_entry(positional);
    }
    for (const auto& option : command.options) {
      // Said once in DESCRIPTION rather than in every command.
      if (option.names != std::vector<std::string>{"-h", "--help"}) {
        out += option_entry(option);
      }
    }
    if (!command.example.empty()) {
      // man indents a subsection's text by 7 columns and this block by 4 more: 80 - 11.
      out += ".PP\nExample:\n.PP\n.nf\n.RS 4\n" + roff(wrap_command_lines(command.example, 69)) + "\n.RE\n.fi\n";
    }
    for (const auto& note : command.notes) {
      out += ".PP\n" + roff(note) + "\n";
    }
  }
  out += ".SH EXIT STATUS\n"
         ".TP\n0\nsuccess\n.TP\n1\nfailure\n.TP\n2\nusage error (bad option or argument)\n"
         ".TP\n124\na timeout\n.TP\n130\ninterrupted (143 after SIGTERM, 129 after SIGHUP: 128 + the signal)\n"
         ".TP\n141\nstandard output's reader went away (as in \\fBnetlab ... | head\\fR); nothing is printed\n"
         ".TP\n255\ncould not connect or authenticate\n"
         ".PP\nexec\\-client and single\\-host ssh\\-exec pass the remote exit code through. pool\\-run and "
         "many\\-host ssh\\-exec follow GNU parallel: 1\\-100 is the number of failed jobs (hosts), 101 more "
         "than 100, and 255 means no host could be reached or a usage error.\n";
  out += ".SH ENVIRONMENT\n";
  for (const auto& variable : program.environment) {
    out += fmt::format(".TP\n.B {}\n{}\n", roff(variable.name), roff(variable.help));
  }
  out += ".SH FILES\n"
         ".TP\n.I /usr/share/doc/netlab/protocol.md.gz\n"
         "the wire formats: frames, frame files, the exec protocol, for clients in other languages\n"
         ".TP\n.I /usr/share/doc/netlab/security.md.gz\n"
         "what each server trusts, its limits and defaults, the exec\\-server threat model\n"
         ".TP\n.I /usr/share/doc/netlab/\n"
         "the README and the guides to pack, pool\\-run, select\\-server and ssh\\-exec\n"
         ".TP\n.I ~/.ssh/known_hosts, ~/.ssh/config\n"
         "host keys and host settings read by ssh\\-exec and pool\\-run \\-\\-ssh\n";
  out += ".SH SEE ALSO\n.BR socat (1),\n.BR ncat (1),\n.BR xargs (1),\n.BR parallel (1),\n.BR ssh (1)\n";
  return out;
}

} // namespace netlab::clidoc
