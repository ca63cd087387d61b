// The end of `chronik-server --help` and `--help-all`: what a man page would add to the options,
// so that `--help-all` can stand in for one (the package's chronik-server(1) is generated from it,
// packaging/man_page.cmake). Keep it in step with docs/operations.md.
#pragma once

namespace chronik::daemon {

inline constexpr const char* usage_footer = R"(Every subcommand takes --help; --help-all prints them all.

Exit status:
  0  success (a node: stopped gracefully after SIGTERM or SIGINT)
  1  runtime failure: cannot bind, bad data directory, admin endpoint or broker unreachable,
     a command refused
  2  bad command line or configuration (one line naming the key), or the node id is held by
     another live node
  3  storage lost: the WAL could not be reopened after a disk fault

Signals (start): SIGTERM/SIGINT leave the cluster gracefully (a second one stops at once);
  SIGHUP reloads log_level from the --config file.

Environment (start): NOTIFY_SOCKET, set by systemd for a Type=notify unit: the node sends READY=1
  once it serves (listeners up, a registered broker of a cluster with a __meta leader: /health
  answers 200), RELOADING=1 and READY=1 around a SIGHUP reload, STOPPING=1 when it shuts down.

Files: /etc/chronik/node.toml (the packaged unit's --config), /var/lib/chronik (its data_dir),
  <data_dir>/admin_token (the admin bearer token unless admin_token_file is set).

Documentation: /usr/share/doc/chronik-server/ (operations.md, config.md, security.md) or docs/ in
  the source tree.)";

}  // namespace chronik::daemon
