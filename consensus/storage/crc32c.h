// Forwarding header, kept only until daemon/meta_service.cc moves to base/crc32c.h; then it is
// deleted. New code includes base/crc32c.h.
#pragma once
#include "base/crc32c.h"  // IWYU pragma: export
