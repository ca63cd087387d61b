// Forwarding header, kept only until the files still including it (consensus/groups, daemon's
// services) move to base/assert.h; then it is deleted. New code includes base/assert.h.
#pragma once
#include "base/assert.h"  // IWYU pragma: export
