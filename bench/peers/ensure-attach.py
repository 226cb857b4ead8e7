"""The ensure+attach job in boto3 (for reference): create role, attach policy, profile, associate."""
import json
import sys

import boto3

name, instance = sys.argv[1], sys.argv[2]
trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
iam = boto3.client("iam")
iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
iam.attach_role_policy(RoleName=name, PolicyArn="arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
iam.create_instance_profile(InstanceProfileName=name)
iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=name)
boto3.client("ec2").associate_iam_instance_profile(InstanceId=instance, IamInstanceProfile={"Name": name})
