// Which cluster the node's Raft state belongs to (<data_dir>/meta-cluster), and discarding that
// state when the node moves to another cluster.
//
// Why: group ids are never reused within one raft host (docs/raft_host.md), and `__meta` is always
// group 1. A node only ever moves to another cluster when the one it held can never have formed
// (bootstrap rule R8, docs/bootstrap.md) or when it crashed while asking to join one; either way
// its Raft state is worthless and, worse, would be reopened as if it belonged to the new cluster.
// So the node writes the cluster id here before it first creates `__meta`, and whenever it is
// about to host `__meta` for a different cluster it discards the whole Raft state first.
//
// Crash safety: the state directories are renamed aside (atomic) and the data directory fsynced
// before anything is deleted, so a crash leaves either the old state whole, or none of it plus a
// leftover that the next start deletes. The owner file is removed last: a crash before that
// leaves an owner naming the old cluster, which only repeats the discard.
#pragma once

#include <expected>
#include <filesystem>
#include <optional>
#include <string>

namespace chronik::daemon {

// The cluster id written by write_raft_owner, or nullopt when there is none (a fresh data
// directory, or one written before this file existed).
std::expected<std::optional<std::string>, std::string> read_raft_owner(const std::filesystem::path& data_dir);
std::expected<void, std::string> write_raft_owner(const std::filesystem::path& data_dir, const std::string& cluster_id);

// Discards the raft host's state (<data_dir>/raft and <data_dir>/raft-host) and the owner file.
// The raft host must be closed.
std::expected<void, std::string> discard_raft_state(const std::filesystem::path& data_dir);

// Deletes what an interrupted discard left behind; called before the raft host opens.
std::expected<void, std::string> remove_discarded_raft_state(const std::filesystem::path& data_dir);

}  // namespace chronik::daemon
