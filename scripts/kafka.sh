#!/usr/bin/env bash
# Placeholder until its issue lands.
echo "scripts/kafka.sh: not ready yet"
