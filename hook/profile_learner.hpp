// Turns what learn mode remembered, found as paths in the container's view,
// into a profile: the starting profile's rules kept, and the fewest rules
// that cover every observed access with the rights observed. Pure: no
// kernel, no files (bpf/ctl/learn_command.cpp gathers the input).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "profile.hpp"

namespace cgfence {

// An access found at a path of the container's view.
struct ObservedAccess {
    std::string path;
    bool is_dir = false;
    uint8_t wanted = 0; // CGFENCE_ACCESS_*
};

// An access to a file that is gone, made in a directory that is still there
// (a temporary file): the container makes names there.
struct GoneAccess {
    std::string dir;
    std::string name;
    uint8_t wanted = 0;
};

struct LearnInput {
    Profile start; // its rules are kept; its rights are what the learned rules add to
    std::vector<ObservedAccess> observed;
    std::vector<GoneAccess> gone;
    std::map<std::string, uint8_t> filesystems; // type name -> rights (pseudo filesystems)
    std::map<std::string, size_t> entries;      // directory -> how many entries it holds
    std::vector<std::string> not_found;         // accesses found nowhere: report lines
    uint64_t lost = 0;                          // accesses past the container's bound
    bool walk_cut = false;                      // the index of the view is incomplete
};

struct LearnedProfile {
    Profile profile;                 // mode enforce, default deny
    std::vector<std::string> report; // what was collapsed or could not be, and why
};

// Directory rules replace file rules where:
//  - the container made or removed names in the directory (w on it, or a
//    gone file made there): files made at run time have no inode when the
//    next container starts, so only a recursive rule on the directory covers
//    them ("/" excepted: that would be the whole tree);
//  - more than half of a directory's entries (at least two) were used, its
//    used subdirectories counted only when they collapsed themselves; a file
//    written there keeps a rule of its own (w is not passed to the whole
//    directory for one file), a directory where names were made too.
// A rule's rights are the rights observed below it plus what the starting
// profile gave its path, so nothing the starting profile allowed is lost.
LearnedProfile learn_profile(const LearnInput &input);

} // namespace cgfence
