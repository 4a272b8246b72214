"""The guide's veterinary clinic: owners and their pets, vets, appointments."""
