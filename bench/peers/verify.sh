#!/usr/bin/env bash
# The four checks a user runs by hand on an instance: who am I, and what can I do.
# Credentials are static environment keys; endpoint from AWS_ENDPOINT_URL.
# A denied call is an answer, not a failure: the script prints one outcome per call and exits 0.
set -uo pipefail
check() {
  local label="$1"
  shift
  if "$@" >/dev/null 2>&1; then echo "$label allowed"; else echo "$label denied"; fi
}
check sts:GetCallerIdentity aws sts get-caller-identity
check s3:ListAllMyBuckets aws s3 ls
check dynamodb:ListTables aws dynamodb list-tables
check iam:ListRoles aws iam list-roles
