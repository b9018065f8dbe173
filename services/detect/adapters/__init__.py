"""detect/adapters"""
