// A running container's policy changed in place (`cgfencectl apply`): a new
// profile resolved in the container's view as it is now, or a new mode,
// published in one step.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "error.hpp"
#include "maps.hpp"
#include "profile.hpp"
#include "records.hpp"

namespace cgfence {

struct LiveChange {
    const Profile *profile = nullptr; // none: keep the rules
    std::optional<ProfileMode> mode;  // none: keep the container's mode
};

struct LiveChangeResult {
    cgfence_record record;            // as now stored
    std::vector<std::string> skipped; // rule paths absent from the container's view
    std::vector<std::string> kept;    // rule paths whose old object keeps the rule (moved away)
};

// Replaces the policy of the container of `record`. The new policy holds at
// once, for every task that carries the container's mark (wherever it runs);
// the record names the new profile, mode and time of change. A container torn down meanwhile is an
// error, and nothing of it is revived.
Result<LiveChangeResult> change_live_policy(const PinnedMaps &maps, const ContainerRecord &record,
                                            const LiveChange &change);

} // namespace cgfence
