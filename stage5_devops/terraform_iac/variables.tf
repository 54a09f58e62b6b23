# The module's inputs. Every value that differs between environments comes in here, typed and
# validated, so a wrong value stops `terraform plan` with a clear message instead of failing
# half-way through an apply.

# kata: begin declare the inputs: typed, described, validated, the secret sensitive and without a default
variable "project" {
  description = "Short name of the application, the prefix of every resource name."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,20}[a-z0-9]$", var.project))
    error_message = "project must be 3 to 22 characters of lowercase letters, digits and hyphens, start with a letter and not end with a hyphen."
  }
}

variable "environment" {
  description = "Deployment stage: dev, staging or prod."
  type        = string

  validation {
    condition     = contains(["dev", "staging", "prod"], var.environment)
    error_message = "environment must be one of dev, staging, prod."
  }
}

variable "region" {
  description = "AWS region to deploy into."
  type        = string
  default     = "eu-west-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as eu-west-1 or us-gov-west-1."
  }
}

variable "api_token" {
  description = "Bearer token that writes must present. Pass it as TF_VAR_api_token from a secret store, never in a committed file."
  type        = string
  sensitive   = true
  nullable    = false

  validation {
    condition     = length(var.api_token) >= 32
    error_message = "api_token must be at least 32 characters long."
  }
}

variable "log_retention_days" {
  description = "Days CloudWatch Logs keeps the function's and the API's logs."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a retention CloudWatch Logs accepts: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653."
  }
}

variable "max_concurrency" {
  description = "Reserved concurrent executions of the function: a ceiling on cost and on the load it puts on the table."
  type        = number
  default     = 10

  validation {
    condition     = var.max_concurrency >= 1 && var.max_concurrency <= 100 && floor(var.max_concurrency) == var.max_concurrency
    error_message = "max_concurrency must be a whole number from 1 to 100."
  }
}

variable "tags" {
  description = "Extra tags for every resource, such as Owner or CostCenter."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for key in keys(var.tags) : !startswith(lower(key), "aws:")])
    error_message = "tags: keys starting with aws: are reserved by AWS."
  }
}
# kata: end
