"""Engine-independent pieces: the S3 bridge, RBAC and the bucket policy."""
