# The values the S3 backend block leaves out, one file per account or environment:
#   terraform init -backend-config=backend.example.hcl
# The bucket must exist (versioned, encrypted, public access blocked) before the first init.
bucket = "example-terraform-state"
key    = "notes-api/dev/terraform.tfstate"
region = "eu-west-1"
