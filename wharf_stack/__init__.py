"""The local stack (moto, chalice local, an SQS worker) and operator tools. Never in the Lambda."""
