#!/usr/bin/env bash
# What a user types by hand to give an instance an S3 read-only role with the AWS CLI.
# Usage: ensure-attach.sh NAME INSTANCE_ID   (endpoint from AWS_ENDPOINT_URL, region from AWS_REGION)
# No `sleep` for IAM propagation here: benchmark 4 accounts for that separately.
set -euo pipefail
name="$1"
instance="$2"
trust='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
aws iam create-role --role-name "$name" --assume-role-policy-document "$trust" >/dev/null
aws iam attach-role-policy --role-name "$name" --policy-arn arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess
aws iam create-instance-profile --instance-profile-name "$name" >/dev/null
aws iam add-role-to-instance-profile --instance-profile-name "$name" --role-name "$name"
aws ec2 associate-iam-instance-profile --instance-id "$instance" --iam-instance-profile "Name=$name" >/dev/null
