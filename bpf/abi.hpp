// The BPF ABI for C++: the shared header, and its layout checked at compile
// time so a change to cgfence_abi.h that moves a field cannot go unnoticed.
#pragma once

#include <cstddef>

#include "cgfence_abi.h"

static_assert(sizeof(cgfence_policy_key) == 16);
static_assert(offsetof(cgfence_policy_key, dev) == 4);
static_assert(offsetof(cgfence_policy_key, ino) == 8);
static_assert(sizeof(cgfence_rule) == 16);
static_assert(sizeof(cgfence_settings) == 16);
static_assert(offsetof(cgfence_settings, flags) == 4);
static_assert(offsetof(cgfence_settings, events_per_sec) == 8);
static_assert(sizeof(cgfence_policy_value) == 16);
static_assert(sizeof(cgfence_counters) == 48);
static_assert(sizeof(cgfence_container_state) == 40);
static_assert(offsetof(cgfence_task_mark, flags) == 9);
static_assert(sizeof(cgfence_task_mark) == 16);
static_assert(sizeof(cgfence_learned_key) == 24);
static_assert(offsetof(cgfence_learned_key, wanted) == 20);
static_assert(sizeof(cgfence_learned) == 88);
static_assert(offsetof(cgfence_learned, name) == 24);
static_assert(sizeof(cgfence_event) == 136);
static_assert(offsetof(cgfence_event, dev) == 32);
static_assert(offsetof(cgfence_event, wanted) == 44);
static_assert(offsetof(cgfence_event, origin) == 49);
static_assert(offsetof(cgfence_event, comm) == 56);
static_assert(offsetof(cgfence_event, name) == 72);
static_assert(sizeof(cgfence_record) == 504);
static_assert(offsetof(cgfence_record, view_mnt_ns) == 480);
static_assert(offsetof(cgfence_record, id) == 32);
static_assert(sizeof(cgfence_meta) == 48);
static_assert(offsetof(cgfence_meta, pin_root) == 40);
