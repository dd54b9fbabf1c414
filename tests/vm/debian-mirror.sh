# Sourced by fetch-kernels.sh and fetch-images.sh: the Debian mirror they fetch from.
# shellcheck shell=bash

# The first Debian (not -security/-updates) mirror URI in the machine's apt sources,
# without a trailing slash; fails when there is none.
debian_mirror() {
    local uri=""
    if [[ -r /etc/apt/sources.list.d/debian.sources ]]; then
        uri=$(awk '
            BEGIN { RS = "" }   # one deb822 stanza per record
            {
                types = uris = suites = ""
                n = split($0, line, "\n")
                for (i = 1; i <= n; i++) {
                    if (line[i] ~ /^Types:/)  types  = substr(line[i], 7)
                    if (line[i] ~ /^URIs:/)   uris   = substr(line[i], 6)
                    if (line[i] ~ /^Suites:/) suites = substr(line[i], 8)
                }
                if (types ~ /(^|[ \t])deb([ \t]|$)/ && suites ~ /(^|[ \t])[a-z]+([ \t]|$)/) {
                    split(uris, u, " "); print u[1]; exit
                }
            }' /etc/apt/sources.list.d/debian.sources)
    fi
    if [[ -z $uri && -r /etc/apt/sources.list ]]; then
        uri=$(awk '
            $1 == "deb" {
                i = 2
                if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }   # skip [options]
                if ($(i + 1) ~ /^[a-z]+$/) { print $i; exit }
            }' /etc/apt/sources.list)
    fi
    if [[ -z $uri ]]; then
        echo "no Debian mirror found in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list" >&2
        return 1
    fi
    echo "${uri%/}"
}
