"""The IAM actions moto 5.2.5 authorises S3 bucket reads as, where it differs from AWS.

moto's S3 ACTION_MAP knows the query `public_access_block` (not the `publicAccessBlock` the
SDKs send) and no `encryption`, so GetPublicAccessBlock and GetBucketEncryption fall to its
default, s3:ListBucket. AWS authorises them as s3:GetBucketPublicAccessBlock and
s3:GetEncryptionConfiguration:
https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html
https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetPublicAccessBlock.html
https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketEncryption.html
"""

from __future__ import annotations


def install() -> None:
    from moto.s3.responses import ACTION_MAP

    bucket_reads = ACTION_MAP["BUCKET"]["GET"]
    bucket_reads["publicAccessBlock"] = "GetBucketPublicAccessBlock"
    bucket_reads["encryption"] = "GetEncryptionConfiguration"
