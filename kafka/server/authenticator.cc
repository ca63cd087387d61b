#include "kafka/server/authenticator.h"

namespace chronik::kafka {

// Out of line: request_handler.h only declares authenticator.
std::unique_ptr<authenticator> request_handler::new_authenticator(const client_info&) { return nullptr; }

}  // namespace chronik::kafka
