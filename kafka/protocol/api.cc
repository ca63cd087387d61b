#include "kafka/protocol/api.h"

#include <string>

namespace chronik::kafka {

namespace {

struct api_info {
  api_key key;
  std::string_view name;
  std::int16_t first_flexible;  // -1: never flexible
};

// First flexible versions from the "flexibleVersions" of apache/kafka's
// clients/src/main/resources/common/message/<Name>Request.json.
constexpr api_info apis[] = {
    {api_key::produce, "Produce", 9},
    {api_key::fetch, "Fetch", 12},
    {api_key::list_offsets, "ListOffsets", 6},
    {api_key::metadata, "Metadata", 9},
    {api_key::offset_commit, "OffsetCommit", 8},
    {api_key::offset_fetch, "OffsetFetch", 6},
    {api_key::find_coordinator, "FindCoordinator", 3},
    {api_key::join_group, "JoinGroup", 6},
    {api_key::heartbeat, "Heartbeat", 4},
    {api_key::leave_group, "LeaveGroup", 4},
    {api_key::sync_group, "SyncGroup", 4},
    {api_key::describe_groups, "DescribeGroups", 5},
    {api_key::list_groups, "ListGroups", 3},
    {api_key::sasl_handshake, "SaslHandshake", -1},
    {api_key::api_versions, "ApiVersions", 3},
    {api_key::create_topics, "CreateTopics", 5},
    {api_key::delete_topics, "DeleteTopics", 4},
    {api_key::delete_records, "DeleteRecords", 2},
    {api_key::init_producer_id, "InitProducerId", 2},
    {api_key::offset_for_leader_epoch, "OffsetForLeaderEpoch", 4},
    {api_key::add_partitions_to_txn, "AddPartitionsToTxn", 3},
    {api_key::add_offsets_to_txn, "AddOffsetsToTxn", 3},
    {api_key::end_txn, "EndTxn", 3},
    {api_key::write_txn_markers, "WriteTxnMarkers", 1},
    {api_key::txn_offset_commit, "TxnOffsetCommit", 3},
    {api_key::describe_acls, "DescribeAcls", 2},
    {api_key::create_acls, "CreateAcls", 2},
    {api_key::delete_acls, "DeleteAcls", 2},
    {api_key::describe_configs, "DescribeConfigs", 4},
    {api_key::alter_configs, "AlterConfigs", 2},
    {api_key::describe_log_dirs, "DescribeLogDirs", 2},
    {api_key::sasl_authenticate, "SaslAuthenticate", 2},
    {api_key::create_partitions, "CreatePartitions", 2},
    {api_key::delete_groups, "DeleteGroups", 2},
    {api_key::elect_leaders, "ElectLeaders", 2},
    {api_key::incremental_alter_configs, "IncrementalAlterConfigs", 1},
    {api_key::alter_partition_reassignments, "AlterPartitionReassignments", 0},
    {api_key::list_partition_reassignments, "ListPartitionReassignments", 0},
    {api_key::offset_delete, "OffsetDelete", 1},
    {api_key::describe_user_scram_credentials, "DescribeUserScramCredentials", 0},
    {api_key::alter_user_scram_credentials, "AlterUserScramCredentials", 0},
    {api_key::describe_quorum, "DescribeQuorum", 0},
    {api_key::describe_cluster, "DescribeCluster", 0},
    {api_key::describe_producers, "DescribeProducers", 0},
    {api_key::describe_transactions, "DescribeTransactions", 0},
    {api_key::list_transactions, "ListTransactions", 0},
};

const api_info* find(api_key key) {
  for (const auto& info : apis) {
    if (info.key == key) return &info;
  }
  return nullptr;
}

}  // namespace

std::string_view to_string(api_key key) {
  const api_info* info = find(key);
  return info ? info->name : "Unknown";
}

std::optional<std::int16_t> first_flexible_version(api_key key) {
  const api_info* info = find(key);
  if (!info || info->first_flexible < 0) return std::nullopt;
  return info->first_flexible;
}

framing body_framing(api_key key, std::int16_t version) {
  const auto first = first_flexible_version(key);
  return first && version >= *first ? framing::flexible : framing::classic;
}

std::int16_t request_header_version(api_key key, std::int16_t version) {
  return body_framing(key, version) == framing::flexible ? 2 : 1;
}

std::int16_t response_header_version(api_key key, std::int16_t version) {
  if (key == api_key::api_versions) return 0;
  return body_framing(key, version) == framing::flexible ? 1 : 0;
}

codec_error unsupported_version_error(api_key key, std::int16_t version) {
  std::string text(to_string(key));
  text += " version ";
  text += std::to_string(version);
  text += " is not implemented";
  return codec_error{codec_errc::unsupported_version, 0, std::move(text)};
}

}  // namespace chronik::kafka
