# What the pipeline and the people who run the service need after an apply.

# kata: begin the outputs, each described; only the one that carries the secret is sensitive
output "api_url" {
  description = "Base URL of the HTTP API."
  value       = aws_apigatewayv2_stage.default.invoke_url
}

output "table_name" {
  description = "Name of the DynamoDB table that holds the notes."
  value       = aws_dynamodb_table.notes.name
}

output "function_name" {
  description = "Name of the Lambda function, for logs and metrics."
  value       = aws_lambda_function.api.function_name
}

output "api_token_parameter" {
  description = "SSM parameter that holds the API token (its name, not its value)."
  value       = aws_ssm_parameter.api_token.name
}

output "authorization_header" {
  description = "Authorization header for the post-deploy smoke test: terraform output -raw authorization_header."
  value       = "Bearer ${var.api_token}"
  sensitive   = true
}
# kata: end
