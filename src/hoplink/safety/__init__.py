"""Trust and safety: where links may point, and which addresses hoplink itself may reach."""
