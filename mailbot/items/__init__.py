"""Items: client threads filed against projects, with their status lifecycles."""
