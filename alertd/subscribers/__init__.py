"""subscribers"""
